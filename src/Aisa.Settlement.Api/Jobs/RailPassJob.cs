using Aisa.Settlement.Api.Deposits;
using Aisa.Settlement.Rails;
using Quartz;

namespace Aisa.Settlement.Api.Jobs;

/// <summary>A rail's recurring pass: its watcher from the stored cursor (so a retry never credits twice), or a job of its own.</summary>
[DisallowConcurrentExecution]
public sealed class RailPassJob(IRailRegistry rails, IEnumerable<IRailJob> jobs, DepositProcessor processor, LeasedRuns runs) : IJob
{
    public const string PassKey = "pass";
    public const string WatcherKey = "watcher";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var name = context.MergedJobDataMap.GetString(PassKey)!;
        if (context.MergedJobDataMap.GetString(WatcherKey) is { } watcher)
        {
            var rail = (IRailWatcher)rails.Find(new RailId(watcher))!;
            await runs.RunAsync(name, (lease, token) => processor.PassAsync(rail, lease, token), cancellationToken);
            return;
        }
        var job = jobs.First(j => j.Name == name);
        await runs.RunAsync(name, (_, token) => job.RunAsync(token), cancellationToken);
    }
}
