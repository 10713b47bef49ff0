namespace Aisa.Settlement.Api.Jobs;

/// <summary>The recurring jobs of this build and configuration: every rail's passes and pruning.</summary>
public sealed record RecurringJobs(IReadOnlyList<ScheduledJob> Jobs)
{
    public IEnumerable<string> Names => Jobs.Select(j => j.Name);

    public ScheduledJob? Find(string name) => Jobs.FirstOrDefault(j => j.Name == name);

    /// <summary>
    /// How often Hangfire looks for a recurring or scheduled job that is due and for a queued job: no slower than the most
    /// frequent job, at most 5 s (a webhook delivery or its retry waits no longer than that to start).
    /// </summary>
    public TimeSpan PollInterval => Jobs.Select(j => j.Interval).Append(TimeSpan.FromSeconds(5)).Min();
}
