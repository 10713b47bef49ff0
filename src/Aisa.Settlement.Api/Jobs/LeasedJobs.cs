namespace Aisa.Settlement.Api.Jobs;

/// <summary>The recurring jobs this instance schedules.</summary>
public sealed record LeasedJobs(IReadOnlyList<ScheduledJob> Jobs)
{
    public IEnumerable<string> Names => Jobs.Select(j => j.Name);

    public ScheduledJob? Find(string name) => Jobs.FirstOrDefault(j => j.Name == name);
}
