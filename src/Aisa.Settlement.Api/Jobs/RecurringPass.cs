using Aisa.Settlement.Api.Deposits;
using Aisa.Settlement.Rails;
using Hangfire;
using Hangfire.Server;
using Newtonsoft.Json.Linq;

namespace Aisa.Settlement.Api.Jobs;

/// <summary>
/// The Hangfire job behind every recurring job: a rail's watcher from its stored cursor (so a retry never credits twice),
/// a rail's own pass, a payout run or a rail's payouts, or pruning, each run through <see cref="LeasedRuns"/>. Never retried by Hangfire: the next tick is
/// the retry.
/// </summary>
public sealed class RecurringPass(RecurringJobs recurring, LeasedRuns runs, IRailRegistry rails, IEnumerable<IRailJob> railJobs, DepositProcessor processor, PruneJob prune,
    Payouts.PayoutProcessor payouts)
{
    [AutomaticRetry(Attempts = 0, LogEvents = false)]
    [JobDisplayName("{0}")]
    public async Task<JObject> RunAsync(string job, PerformContext? context, CancellationToken cancellationToken)
    {
        var scheduled = recurring.Find(job)
            ?? throw new InvalidOperationException($"This instance has no recurring job named {job}: its configuration differs from the instance that scheduled it.");
        return await runs.RunAsync(job, PassOf(scheduled), context, cancellationToken);
    }

    private Func<Storage.Jobs.LeaseFence, CancellationToken, Task<System.Text.Json.Nodes.JsonObject>> PassOf(ScheduledJob job)
    {
        if (job.Watcher is { } watcher)
        {
            var rail = rails.Find(watcher) as IRailWatcher ?? throw new InvalidOperationException($"The rail {watcher} is not a watcher of this instance.");
            return (lease, token) => processor.PassAsync(rail, lease, token);
        }
        if (job.Payer is { } payer)
        {
            var rail = rails.Find(payer) as IPayoutRail ?? throw new InvalidOperationException($"The rail {payer} does not pay out on this instance.");
            return (lease, token) => payouts.PassAsync(rail, lease, token);
        }
        if (job.Name == Payouts.PayoutProcessor.RunJob)
        {
            return (_, token) => payouts.RunAsync(token);
        }
        if (job.Name == PruneJob.Name)
        {
            return (_, token) => prune.PassAsync(token);
        }
        var own = railJobs.FirstOrDefault(j => j.Name == job.Name) ?? throw new InvalidOperationException($"No rail of this instance runs {job.Name}.");
        return (_, token) => own.RunAsync(token);
    }
}
