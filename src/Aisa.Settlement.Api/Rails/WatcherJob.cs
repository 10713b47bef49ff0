using Aisa.Settlement.Adapters.X402;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage.Deposits;
using Aisa.Settlement.Storage.Jobs;
using Quartz;

namespace Aisa.Settlement.Api.Rails;

/// <summary>This process among the service's instances: the owner name of the leases it holds.</summary>
public sealed class ServiceInstance
{
    public string Id { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
}

/// <summary>
/// A recurring job that runs on one instance at a time: every instance schedules it; the one holding its lease (or
/// taking it over) runs it, the others skip until the lease expires. Each run is recorded with its outcome; a
/// failed one is retried at the next tick with its attempt counted.
/// </summary>
public sealed class LeasedRuns(JobStore jobs, ServiceInstance instance, SchedulingOptions scheduling, Observability.SettlementMetrics metrics, ILogger<LeasedRuns> logger)
{
    /// <summary>
    /// One run if this instance holds (or takes) the job's lease; false when another instance holds it, or the job is
    /// paused and no run of it was asked for (a run asked for is taken by the lease holder, once, paused or not). The
    /// lease is renewed while the run goes on, however long it takes; should another run take it meanwhile (this one
    /// stalled past the lease), this run is stopped, and its fenced writes are refused.
    /// </summary>
    public async Task<bool> RunAsync(string name, Func<LeaseFence, CancellationToken, Task<System.Text.Json.Nodes.JsonObject>> pass, CancellationToken cancellationToken)
    {
        var duration = TimeSpan.FromSeconds(scheduling.LeaseSeconds);
        if (await jobs.TryHoldAsync(name, instance.Id, duration, cancellationToken) is not { } lease)
        {
            return false;
        }
        // One read each tick; the write that takes a requested run only when there is one.
        var control = await jobs.ControlAsync(name, cancellationToken);
        var requested = control.RunRequested && await jobs.TakeRunRequestAsync(name, cancellationToken);
        if (!requested && control.Paused)
        {
            return false;
        }
        await jobs.AbandonOthersAsync(name, instance.Id, cancellationToken);
        var run = await jobs.StartAsync(name, instance.Id, cancellationToken);
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["CorrelationId"] = $"job-run-{run.Id}", ["JobRunId"] = run.Id, ["Job"] = name });
        using var held = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var renewing = RenewWhileRunningAsync(lease, duration, held);
        try
        {
            var summary = (await pass(lease, held.Token)).ToJsonString();
            await jobs.FinishAsync(run, JobOutcome.Succeeded, null, summary, CancellationToken.None);
            metrics.JobRan(name, JobOutcome.Succeeded);
            logger.LogDebug("Job {Job} run {JobRunId} succeeded: {Summary}", name, run.Id, summary);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            var error = held.IsCancellationRequested ? "The run lost its lease to another run (it outlived the lease): it stopped." : $"{e.GetType().Name}: {e.Message}";
            logger.LogWarning("Job {Job} failed (attempt {Attempt}): {Error}", name, run.Attempt, error);
            await jobs.FinishAsync(run, JobOutcome.Failed, error, null, CancellationToken.None);
            metrics.JobRan(name, JobOutcome.Failed);
        }
        catch (OperationCanceledException)
        {
            await jobs.FinishAsync(run, JobOutcome.Failed, "Stopped with the service.", null, CancellationToken.None);
            throw;
        }
        finally
        {
            await held.CancelAsync();
            await renewing;
        }
        return true;
    }

    /// <summary>Renews the lease every third of its length until the run ends; cancels the run when another run has taken it.</summary>
    private async Task RenewWhileRunningAsync(LeaseFence lease, TimeSpan duration, CancellationTokenSource run)
    {
        while (!run.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(duration / 3, run.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                if (!await jobs.RenewAsync(lease, duration, CancellationToken.None))
                {
                    logger.LogWarning("Job {Job} lost its lease to another run: this run stops.", lease.Job);
                    await run.CancelAsync();
                    return;
                }
            }
            catch (Exception e) when (e is Storage.StorageUnavailableException or System.Data.Common.DbException)
            {
                // The database is away: the run fails on its own writes; the lease is tried again a third later.
                logger.LogWarning("Job {Job}'s lease was not renewed: {Error}", lease.Job, e.Message);
            }
        }
    }
}

/// <summary>A rail's watcher pass, from its stored cursor, so a retry never credits twice.</summary>
[DisallowConcurrentExecution]
public sealed class WatcherJob(RailRegistry rails, DepositProcessor processor, LeasedRuns runs) : IJob
{
    public const string RailKey = "rail";

    public static string JobName(string rail) => $"watch:{rail}";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var rail = rails.Find(context.MergedJobDataMap.GetString(RailKey)!)!;
        await runs.RunAsync(JobName(rail.Rail), (lease, token) => processor.PassAsync(rail, lease, token), cancellationToken);
    }
}

/// <summary>Settlements whose answer was lost, looked up on chain and credited (or closed), once.</summary>
[DisallowConcurrentExecution]
public sealed class X402ReconcileJob(X402Reconciler reconciler, LeasedRuns runs) : IJob
{
    public const string Name = "reconcile:x402";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await runs.RunAsync(Name, (_, token) => reconciler.PassAsync(token), cancellationToken);
}

/// <summary>
/// Deletes what is kept only for a while: job runs (a watcher polling every second adds 86,400 a day) and the chart's
/// charges per minute past <c>Scheduling:RunHistoryDays</c>, sessions past their expiry, and Idempotency-Key records past
/// their 24 hours (a key after that is a new request anyway).
/// </summary>
[DisallowConcurrentExecution]
public sealed class PruneJob(JobStore jobs, Storage.Operations.OperationsStore operations, Storage.Agents.SessionStore sessions,
    Storage.Idempotency.IdempotencyStore idempotency, SchedulingOptions scheduling, TimeProvider clock, LeasedRuns runs) : IJob
{
    public const string Name = "prune";
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await runs.RunAsync(Name, (_, token) => PassAsync(token), cancellationToken);

    public async Task<System.Text.Json.Nodes.JsonObject> PassAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var before = now - TimeSpan.FromDays(scheduling.RunHistoryDays);
        return new System.Text.Json.Nodes.JsonObject
        {
            ["deleted"] = await jobs.PruneRunsAsync(before, cancellationToken),
            ["chargeMinutesDeleted"] = await operations.PruneChargeMinutesAsync(before, cancellationToken),
            ["sessionsDeleted"] = await sessions.PruneAsync(now, cancellationToken),
            ["idempotencyKeysDeleted"] = await idempotency.PruneAsync(now - Storage.Idempotency.IdempotencyStore.Retention, cancellationToken),
            ["before"] = before,
        };
    }
}

/// <summary>
/// Gives every lease of this instance up when it stops cleanly, so another instance takes over at once. Best effort: a
/// lease that cannot be given back (the database gone first) expires after <c>Scheduling:LeaseSeconds</c> anyway.
/// </summary>
public sealed class LeaseRelease(LeasedJobs leased, JobStore jobs, ServiceInstance instance, ILogger<LeaseRelease> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var job in leased.Names)
        {
            try
            {
                await jobs.ReleaseAsync(job, instance.Id, cancellationToken);
            }
            catch (Exception e) when (e is Storage.StorageUnavailableException or System.Data.Common.DbException or OperationCanceledException)
            {
                logger.LogWarning("The lease of {Job} was not given back ({Error}): it expires on its own.", job, e.Message);
            }
        }
    }
}

/// <summary>A recurring job: its name (the Quartz job key and the lease), how often it runs, and what it does.</summary>
public sealed record ScheduledJob(string Name, TimeSpan Interval, string Purpose)
{
    /// <summary>Whether a last success at <paramref name="lastSuccess"/> is recent: within three intervals (and 5 s of slack).</summary>
    public bool Current(DateTimeOffset lastSuccess, DateTimeOffset now) => now - lastSuccess <= 3 * Interval + TimeSpan.FromSeconds(5);
}

/// <summary>The recurring jobs this instance schedules.</summary>
public sealed record LeasedJobs(IReadOnlyList<ScheduledJob> Jobs)
{
    public IEnumerable<string> Names => Jobs.Select(j => j.Name);

    public ScheduledJob? Find(string name) => Jobs.FirstOrDefault(j => j.Name == name);
}

public static class RailServices
{
    public static IServiceCollection AddRails(this IServiceCollection services, RailSettings settings)
    {
        var adapters = RailRegistry.Create(settings).ToList();
        services.AddSingleton(new RailRegistry(adapters));
        services.AddSingleton(settings.Scheduling);
        services.AddSingleton<ServiceInstance>();
        services.AddSingleton<DepositProcessor>();
        services.AddSingleton<DepositAddressService>();
        services.AddSingleton<X402AuthorizationStore>();
        if (settings.X402 is { } x402)
        {
            services.AddSingleton(x402);
            services.AddSingleton(new FacilitatorClient(new HttpClient { Timeout = Timeout.InfiniteTimeSpan }, x402));
            services.AddSingleton<X402Payments>();
            services.AddSingleton<X402Reconciler>();
            services.AddSingleton<X402Credits>();
            services.AddSingleton(new Eip3009Chain(new Adapters.Evm.Rpc.EvmRpcClient(RailRegistry.RpcHttpClient(), new Adapters.Evm.Rpc.EvmRpcOptions
            {
                Endpoints = x402.RpcUrls.Select(u => new Uri(u)).ToList(),
            })));
            services.AddTransient<X402ReconcileJob>();
        }
        services.AddSingleton<LeasedRuns>();
        List<ScheduledJob> scheduled =
        [
            .. adapters.Select(a => new ScheduledJob(WatcherJob.JobName(a.Rail), a.PollInterval, $"Watches {a.Rail} for deposits and counts their confirmations.")),
            .. settings.X402 is not { } reconcile ? Array.Empty<ScheduledJob>()
                : [new ScheduledJob(X402ReconcileJob.Name, TimeSpan.FromSeconds(reconcile.ReconcileIntervalSeconds), "Looks up x402 settlements whose answer was lost.")],
            .. settings.Stripe is not { } watch ? Array.Empty<ScheduledJob>()
                : [new ScheduledJob(StripeWatchJob.Name, TimeSpan.FromSeconds(watch.PollIntervalSeconds), "Reads pending Checkout Sessions from Stripe.")],
        ];
        scheduled.Add(new ScheduledJob(PruneJob.Name, PruneJob.Interval,
            $"Deletes job runs older than {settings.Scheduling.RunHistoryDays} days (each job's last run and last success stay), expired sessions and Idempotency-Key records past 24 h."));
        services.AddTransient<PruneJob>();
        services.AddSingleton(new LeasedJobs(scheduled));
        if (settings.Stripe is { } stripe)
        {
            services.AddSingleton(stripe);
            services.AddSingleton(new Adapters.Stripe.StripeClient(new HttpClient { Timeout = Timeout.InfiniteTimeSpan }, stripe));
            services.AddSingleton<StripeTopUps>();
            services.AddTransient<StripeWatchJob>();
        }
        services.AddTransient<WatcherJob>();
        // Registered before Quartz's hosted service, so it stops after it: no pass runs once the lease is given up.
        services.AddHostedService<LeaseRelease>();
        services.AddQuartz(quartz =>
        {
            foreach (var rail in adapters)
            {
                var job = new JobKey(WatcherJob.JobName(rail.Rail));
                quartz.AddJob<WatcherJob>(j => j.WithIdentity(job).UsingJobData(WatcherJob.RailKey, rail.Rail));
                quartz.AddTrigger(t => t.ForJob(job).StartNow()
                    .WithSimpleSchedule(s => s.WithInterval(rail.PollInterval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount)));
            }
            if (settings.Stripe is { } stripeOptions)
            {
                var job = new JobKey(StripeWatchJob.Name);
                quartz.AddJob<StripeWatchJob>(j => j.WithIdentity(job));
                quartz.AddTrigger(t => t.ForJob(job).StartNow()
                    .WithSimpleSchedule(s => s.WithInterval(TimeSpan.FromSeconds(stripeOptions.PollIntervalSeconds)).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount)));
            }
            {
                var job = new JobKey(PruneJob.Name);
                quartz.AddJob<PruneJob>(j => j.WithIdentity(job));
                quartz.AddTrigger(t => t.ForJob(job).StartNow()
                    .WithSimpleSchedule(s => s.WithInterval(PruneJob.Interval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount)));
            }
            if (settings.X402 is { } x402Options)
            {
                var job = new JobKey(X402ReconcileJob.Name);
                quartz.AddJob<X402ReconcileJob>(j => j.WithIdentity(job));
                quartz.AddTrigger(t => t.ForJob(job).StartNow()
                    .WithSimpleSchedule(s => s.WithInterval(TimeSpan.FromSeconds(x402Options.ReconcileIntervalSeconds)).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount)));
            }
        });
        services.AddQuartzHostedService(options => options.WaitForJobsToComplete = true);
        return services;
    }
}
