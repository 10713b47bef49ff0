namespace Aisa.Settlement.Api.Jobs;

/// <summary><c>Scheduling</c>: how the instances share the watchers.</summary>
public sealed class SchedulingOptions
{
    public const string Section = "Scheduling";

    /// <summary>
    /// How long a watcher stays with the instance that last ran it. A live holder renews it every pass; when the
    /// holder dies, another instance takes the watcher over within this time plus one poll interval.
    /// </summary>
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>How many days of job runs are kept; older ones are deleted every hour (each job's last run and last success stay).</summary>
    public int RunHistoryDays { get; set; } = 7;

    public IEnumerable<string> Validate(IEnumerable<TimeSpan> pollIntervals)
    {
        if (LeaseSeconds is < 2 or > 3600)
        {
            yield return $"{Section}:LeaseSeconds must be from 2 to 3600.";
        }
        if (RunHistoryDays is < 1 or > 3650)
        {
            yield return $"{Section}:RunHistoryDays must be from 1 to 3650.";
        }
        var longest = pollIntervals.DefaultIfEmpty(TimeSpan.Zero).Max();
        if (LeaseSeconds < 2 * longest.TotalSeconds)
        {
            // Shorter, and the lease would lapse between two passes of a healthy holder.
            yield return $"{Section}:LeaseSeconds must be at least twice the longest poll interval ({longest.TotalSeconds:0} s).";
        }
    }
}
