using Aisa.Settlement.Storage.Jobs;

namespace Aisa.Settlement.Api.Jobs;

/// <summary>
/// Deletes what is kept only for a while: the chart's charges per minute and the jobs' failure counts past a week,
/// sessions past their expiry, and Idempotency-Key records past their 24 hours (a key after that is a new request
/// anyway), and Hangfire's failed jobs past <see cref="JobEngine.FailedRetention"/> (it would keep them for ever).
/// </summary>
public sealed class PruneJob(JobStore jobs, Storage.Operations.OperationsStore operations, Storage.Agents.SessionStore sessions,
    Storage.Idempotency.IdempotencyStore idempotency, JobRuns runs, TimeProvider clock)
{
    public const string Name = "prune";
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>How long the chart's minutes and the failure counts are kept: the overview shows a day of them.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    public static readonly ScheduledJob Scheduled = new(Name, Interval,
        "Deletes the chart's charges per minute, job failure counts and failed jobs older than 7 days, expired sessions and Idempotency-Key records past 24 h.");

    public async Task<System.Text.Json.Nodes.JsonObject> PassAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var before = now - Retention;
        return new System.Text.Json.Nodes.JsonObject
        {
            ["chargeMinutesDeleted"] = await operations.PruneChargeMinutesAsync(before, cancellationToken),
            ["failureHoursDeleted"] = await jobs.PruneFailureHoursAsync(before, cancellationToken),
            ["failedJobsDeleted"] = runs.DeleteFailedBefore(now - JobEngine.FailedRetention),
            ["sessionsDeleted"] = await sessions.PruneAsync(now, cancellationToken),
            ["idempotencyKeysDeleted"] = await idempotency.PruneAsync(now - Storage.Idempotency.IdempotencyStore.Retention, cancellationToken),
            ["before"] = before,
        };
    }
}
