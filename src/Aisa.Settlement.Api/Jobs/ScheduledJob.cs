namespace Aisa.Settlement.Api.Jobs;

/// <summary>A recurring job: its name (the Quartz job key and the lease), how often it runs, and what it does.</summary>
public sealed record ScheduledJob(string Name, TimeSpan Interval, string Purpose)
{
    /// <summary>Whether a last success at <paramref name="lastSuccess"/> is recent: within three intervals (and 5 s of slack).</summary>
    public bool Current(DateTimeOffset lastSuccess, DateTimeOffset now) => now - lastSuccess <= 3 * Interval + TimeSpan.FromSeconds(5);
}
