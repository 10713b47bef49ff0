using System.Text.Json.Nodes;
using Aisa.Settlement.Storage.Jobs;
using Hangfire.Server;
using Newtonsoft.Json.Linq;

namespace Aisa.Settlement.Api.Jobs;

/// <summary>
/// One tick of a recurring job, on whichever instance Hangfire hands it to. Hangfire makes each tick once, but never
/// renews its own locks, so two passes of one job could overlap (a pass longer than the interval, a killed instance's
/// pass handed out again): the job's lease in our own table is the fence. A tick takes it or skips; the pass renews it
/// while it runs and gives it up when it ends. A paused job's tick runs nothing, unless an operator asked for a run.
/// </summary>
public sealed class LeasedRuns(JobStore jobs, ServiceInstance instance, SchedulingOptions scheduling, Observability.SettlementMetrics metrics, ILogger<LeasedRuns> logger)
{
    /// <summary>The Hangfire job parameter naming the instance, attempt and start of a pass while it runs (and after it failed).</summary>
    public const string RunParameter = "aisa-run";

    /// <summary>
    /// Runs one pass if the job is not paused (or a run was asked for) and no other pass holds its lease; returns what
    /// Hangfire keeps as the job's result: the pass's instance, attempt, start, end and summary, or why the tick skipped.
    /// A pass that fails is recorded and thrown as <see cref="JobPassFailedException"/>, so Hangfire records it failed.
    /// </summary>
    public async Task<JObject> RunAsync(string name, Func<LeaseFence, CancellationToken, Task<JsonObject>> pass, PerformContext? context, CancellationToken cancellationToken)
    {
        // One read each tick; the write that takes a requested run only once the lease is held.
        var control = await jobs.ControlAsync(name, cancellationToken);
        if (control.Paused && !control.RunRequested)
        {
            return Skipped("paused: an operator paused this job on every instance");
        }
        var duration = TimeSpan.FromSeconds(scheduling.LeaseSeconds);
        if (await jobs.TryHoldAsync(name, instance.Id, duration, cancellationToken) is not { } lease)
        {
            return Skipped("another pass of this job holds its lease");
        }
        try
        {
            var requested = control.RunRequested && await jobs.TakeRunRequestAsync(name, cancellationToken);
            if (control.Paused && !requested)
            {
                return Skipped("paused: the run asked for was taken by another pass");
            }
            var start = await jobs.StartedAsync(name, instance.Id, cancellationToken);
            context?.SetJobParameter(RunParameter, new JObject { ["instance"] = start.Instance, ["attempt"] = start.Attempt, ["startedAt"] = start.StartedAt });
            var runId = context?.BackgroundJob.Id ?? "direct";
            using var scope = logger.BeginScope(new Dictionary<string, object> { ["CorrelationId"] = $"job-run-{runId}", ["JobRunId"] = runId, ["Job"] = name });
            return await PassAsync(name, runId, start, lease, duration, requested, pass, cancellationToken);
        }
        finally
        {
            try
            {
                await jobs.ReleaseAsync(lease, CancellationToken.None);
            }
            catch (Exception e) when (e is Storage.StorageUnavailableException or System.Data.Common.DbException)
            {
                logger.LogWarning("The lease of {Job} was not given back ({Error}): it expires on its own.", name, e.Message);
            }
        }
    }

    private async Task<JObject> PassAsync(string name, string runId, JobStart start, LeaseFence lease, TimeSpan duration, bool requested,
        Func<LeaseFence, CancellationToken, Task<JsonObject>> pass, CancellationToken cancellationToken)
    {
        using var held = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var renewing = RenewWhileRunningAsync(lease, duration, held);
        try
        {
            var summary = (await pass(lease, held.Token)).ToJsonString();
            var endedAt = await jobs.SucceededAsync(name, summary, CancellationToken.None);
            metrics.JobRan(name, JobOutcome.Succeeded);
            logger.LogDebug("Job {Job} run {JobRunId} succeeded: {Summary}", name, runId, summary);
            return new JObject
            {
                ["instance"] = start.Instance,
                ["attempt"] = start.Attempt,
                ["startedAt"] = start.StartedAt,
                ["endedAt"] = endedAt,
                ["requested"] = requested,
                // Dates in a summary stay the strings they were.
                ["summary"] = Newtonsoft.Json.JsonConvert.DeserializeObject<JToken>(summary, new Newtonsoft.Json.JsonSerializerSettings { DateParseHandling = Newtonsoft.Json.DateParseHandling.None }),
            };
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            var error = held.IsCancellationRequested ? "The run lost its lease to another run (it outlived the lease): it stopped." : $"{e.GetType().Name}: {e.Message}";
            logger.LogWarning("Job {Job} failed (attempt {Attempt}): {Error}", name, start.Attempt, error);
            await jobs.FailedAsync(name, error, CancellationToken.None);
            metrics.JobRan(name, JobOutcome.Failed);
            throw new JobPassFailedException(error, e);
        }
        catch (OperationCanceledException)
        {
            // Hangfire hands the tick out again after the restart; the pass goes on from its stored cursor.
            await jobs.FailedAsync(name, "Stopped with the service.", CancellationToken.None);
            throw;
        }
        finally
        {
            await held.CancelAsync();
            await renewing;
        }
    }

    private static JObject Skipped(string why) => new() { ["skipped"] = why };

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
