using Aisa.Settlement.Money;

namespace Aisa.Settlement.Ledger;

public readonly record struct AccountId(long Value)
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

public enum AccountKind
{
    /// <summary>
    /// An agent's prepaid wallet: the only balance-constrained kind, never taken below zero by a charge — only by
    /// money taken back through the rail (<see cref="TransferKinds.TakesBackPaidMoney"/>).
    /// </summary>
    AgentWallet,
    PublisherPayable,
    PlatformRevenue,
    /// <summary>Money held on a rail (a chain, a PSP): debited when a deposit credits a wallet.</summary>
    RailClearing,
    /// <summary>Money that arrived without a known owner, kept for an operator to attribute.</summary>
    Suspense,
    /// <summary>Manual corrections by an operator, so that an adjustment is a transfer like any other.</summary>
    OperatorAdjustments,
    /// <summary>Publishers' payouts on one rail that left their payable and are not yet confirmed paid (or reversed).</summary>
    PayoutsInFlight,
}

public static class AccountKinds
{
    /// <summary>
    /// Only agent wallets carry a stored, constrained balance. The others are derived from their transfers,
    /// so thousands of charges a second do not queue on one publisher or platform row.
    /// </summary>
    public static bool IsBalanceConstrained(this AccountKind kind) => kind == AccountKind.AgentWallet;
}

/// <summary>Stable account codes: one place that says how each account is named.</summary>
public static class AccountCodes
{
    public const string PlatformRevenue = "platform:revenue";
    public const string Suspense = "suspense";
    public const string OperatorAdjustments = "operator:adjustments";

    public static string AgentWallet(string agentId) => $"wallet:{agentId}";
    public static string PublisherPayable(string publisherId) => $"publisher:{publisherId}:payable";
    public static string RailClearing(string rail) => $"clearing:{rail}";
    public static string PayoutsInFlight(string rail) => $"payouts:{rail}";
}

public sealed record Account(AccountId Id, string Code, AccountKind Kind, DateTimeOffset CreatedAt);

public sealed record AccountBalance(Account Account, Micros Balance);
