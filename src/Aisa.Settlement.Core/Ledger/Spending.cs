using System.Globalization;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Ledger;

public enum SpendingPeriod
{
    Day,
    Month,
}

/// <summary>
/// What a wallet may spend on charges in the current UTC day and calendar month; null is no cap. A batch posted with
/// caps is refused (<see cref="PostOutcome.BudgetExceeded"/>) when its charges would take the wallet past either.
/// </summary>
public sealed record SpendingCaps(AccountId Account, Micros? Daily, Micros? Monthly)
{
    public bool CapsAnything => Daily is not null || Monthly is not null;

    public Micros? CapOf(SpendingPeriod period) => period == SpendingPeriod.Day ? Daily : Monthly;
}

/// <summary>What a wallet has spent on charges in the day and the month a moment falls in.</summary>
public sealed record SpendingTotals(Micros Day, Micros Month, DateTimeOffset At)
{
    public static readonly SpendingTotals None = new(Micros.Zero, Micros.Zero, DateTimeOffset.UnixEpoch);

    public Micros Of(SpendingPeriod period) => period == SpendingPeriod.Day ? Day : Month;
}

/// <summary>
/// The ledger counts every charge (<see cref="TransferKinds.Charge"/>) a balance-constrained account pays, per UTC
/// day and calendar month, in the same commit as the charge: a cap is then checked against what was really spent,
/// also when it was set after the spending.
/// </summary>
public static class SpendingPeriods
{
    public static string Key(SpendingPeriod period, DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return period == SpendingPeriod.Day
            ? utc.ToString("'d:'yyyy-MM-dd", CultureInfo.InvariantCulture)
            : utc.ToString("'m:'yyyy-MM", CultureInfo.InvariantCulture);
    }

    /// <summary>When the period that holds <paramref name="at"/> ends and its budget renews.</summary>
    public static DateTimeOffset Renews(SpendingPeriod period, DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        var start = period == SpendingPeriod.Day ? utc.Date : new DateTime(utc.Year, utc.Month, 1, 0, 0, 0, DateTimeKind.Utc);
        return new DateTimeOffset(period == SpendingPeriod.Day ? start.AddDays(1) : start.AddMonths(1), TimeSpan.Zero);
    }

    /// <summary>Whether the ledger counts this transfer as spending of its debit account.</summary>
    public static bool Counts(TransferRequest transfer) => transfer.Kind == TransferKinds.Charge;
}
