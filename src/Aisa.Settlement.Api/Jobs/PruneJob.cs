using Aisa.Settlement.Storage.Jobs;

namespace Aisa.Settlement.Api.Jobs;

/// <summary>
/// Deletes what is kept only for a while: job runs (a watcher polling every second adds 86,400 a day) and the chart's
/// charges per minute past <c>Scheduling:RunHistoryDays</c>, sessions past their expiry, and Idempotency-Key records past
/// their 24 hours (a key after that is a new request anyway).
/// </summary>
[Quartz.DisallowConcurrentExecution]
public sealed class PruneJob(JobStore jobs, Storage.Operations.OperationsStore operations, Storage.Agents.SessionStore sessions,
    Storage.Idempotency.IdempotencyStore idempotency, SchedulingOptions scheduling, TimeProvider clock, LeasedRuns runs) : Quartz.IJob
{
    public const string Name = "prune";
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    public async ValueTask Execute(Quartz.IJobExecutionContext context, CancellationToken cancellationToken) =>
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
