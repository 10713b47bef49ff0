using System.Globalization;
using Aisa.Settlement.Rails;

namespace Aisa.Settlement.Api.Jobs;

/// <summary>
/// A recurring job: its name (the Hangfire recurring job's id and the lease's), how often it runs, what it does, the rail it
/// watches if it is a watcher or pays on if it sends payouts, and its own cron expression when one was configured.
/// </summary>
public sealed record ScheduledJob(string Name, TimeSpan Interval, string Purpose, RailId? Watcher = null, RailId? Payer = null, string? CronExpression = null)
{
    /// <summary>Whether a last success at <paramref name="lastSuccess"/> is recent: within three intervals (and 5 s of slack).</summary>
    public bool Current(DateTimeOffset lastSuccess, DateTimeOffset now) => now - lastSuccess <= 3 * Interval + TimeSpan.FromSeconds(5);

    /// <summary>
    /// The interval as a Hangfire cron expression with seconds (UTC). Cron counts within the minute (the hour, the day), so an
    /// interval that does not divide it starts again at its top: every 45 s runs at :00 and :45; above a minute an interval
    /// is taken in whole minutes, above an hour in whole hours.
    /// </summary>
    public string Cron
    {
        get
        {
            if (CronExpression is not null)
            {
                return CronExpression;
            }
            var seconds = (int)Math.Max(1, Interval.TotalSeconds);
            return seconds switch
            {
                < 60 => string.Create(CultureInfo.InvariantCulture, $"*/{seconds} * * * * *"),
                < 3600 => string.Create(CultureInfo.InvariantCulture, $"0 */{seconds / 60} * * * *"),
                < 86_400 => string.Create(CultureInfo.InvariantCulture, $"0 0 */{seconds / 3600} * * *"),
                _ => "0 0 0 * * *",
            };
        }
    }
}
