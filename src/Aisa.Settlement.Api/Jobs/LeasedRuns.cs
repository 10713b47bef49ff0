using Aisa.Settlement.Storage.Jobs;

namespace Aisa.Settlement.Api.Jobs;

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
