using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;
using Cronos;

namespace Aisa.Settlement.Api.Payouts;

/// <summary><c>Payouts</c>: when publishers are paid, the smallest payout per rail, and above what an operator approves.</summary>
public sealed class PayoutOptions
{
    public const string Section = "Payouts";

    /// <summary>The smallest payout on a rail no minimum is configured for.</summary>
    public static readonly Micros DefaultMinimum = Micros.FromUsd(1m);

    /// <summary>When the payout run starts: a cron expression in UTC (five fields, or six with seconds). Daily at midnight by default.</summary>
    public string Schedule { get; set; } = "0 0 * * *";

    /// <summary>A payout above this many USD waits for an operator's approval; unset, none does.</summary>
    public decimal? ApprovalThreshold { get; set; }

    /// <summary>The smallest payout per rail in USD (<c>Payouts:Minimums:solana</c>); <see cref="DefaultMinimum"/> for a rail not named.</summary>
    public Dictionary<string, decimal> Minimums { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How often each rail's payouts are sent and tracked.</summary>
    public int PollIntervalSeconds { get; set; } = 15;

    public Micros? ApprovalThresholdMicros => ApprovalThreshold is { } threshold ? Micros.FromUsd(threshold) : null;

    public Micros MinimumOn(string rail) => Minimums.TryGetValue(rail, out var minimum) ? Micros.FromUsd(minimum) : DefaultMinimum;

    /// <summary>The run's cron, parsed as Hangfire parses it (with seconds when it has six fields).</summary>
    public CronExpression ScheduleExpression =>
        CronExpression.Parse(Schedule.Trim(), Schedule.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);

    /// <summary>About how long between two runs (the first two after now), for the health of the run.</summary>
    public TimeSpan RunInterval(DateTimeOffset now)
    {
        var first = ScheduleExpression.GetNextOccurrence(now, TimeZoneInfo.Utc);
        var second = first is { } at ? ScheduleExpression.GetNextOccurrence(at, TimeZoneInfo.Utc) : null;
        return first is { } a && second is { } b ? b - a : TimeSpan.FromDays(1);
    }

    public IEnumerable<string> Validate(IReadOnlyCollection<RailId> payers)
    {
        string? scheduleProblem = null;
        try
        {
            if (ScheduleExpression.GetNextOccurrence(DateTimeOffset.UtcNow, TimeZoneInfo.Utc) is null)
            {
                scheduleProblem = "never comes";
            }
        }
        catch (CronFormatException e)
        {
            scheduleProblem = "is not a cron expression: " + e.Message.TrimEnd('.');
        }
        if (scheduleProblem is not null)
        {
            yield return $"{Section}:Schedule {scheduleProblem} (five fields in UTC, e.g. \"0 0 * * *\" for daily at midnight).";
        }
        if (ApprovalThreshold is { } threshold && (threshold <= 0 || !Micros.TryFromUsd(threshold, out _)))
        {
            yield return $"{Section}:ApprovalThreshold must be a positive USD amount with at most six decimals (or absent: no approval needed).";
        }
        foreach (var (rail, minimum) in Minimums)
        {
            if (!payers.Any(p => p.Value == rail))
            {
                yield return $"{Section}:Minimums:{rail} names no payout rail of this configuration (payout rails: {(payers.Count == 0 ? "none" : string.Join(", ", payers))}).";
            }
            else if (minimum <= 0 || !Micros.TryFromUsd(minimum, out _))
            {
                yield return $"{Section}:Minimums:{rail} must be a positive USD amount with at most six decimals.";
            }
        }
        if (PollIntervalSeconds is < 1 or > 3600)
        {
            yield return $"{Section}:PollIntervalSeconds must be from 1 to 3600.";
        }
    }
}
