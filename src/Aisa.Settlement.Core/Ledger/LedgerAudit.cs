using Aisa.Settlement.Money;

namespace Aisa.Settlement.Ledger;

/// <param name="StoredBalance">The balance kept on the account row; null for accounts whose balance is derived.</param>
/// <param name="DerivedBalance">Credits minus debits over all of the account's transfers.</param>
public sealed record AccountAudit(AccountId Id, string Code, AccountKind Kind, Micros? StoredBalance, Micros DerivedBalance)
{
    public bool StoredMatchesTransfers => StoredBalance is null || StoredBalance == DerivedBalance;

    /// <summary>A wallet below zero after a refund or chargeback: it pays for nothing until topped up.</summary>
    public bool Frozen => Kind.IsBalanceConstrained() && DerivedBalance < Micros.Zero;
}

/// <summary>A transfer that left a wallet below zero although it does not take back paid money.</summary>
public sealed record OverdrawingTransfer(string IdempotencyKey, string Kind, AccountId Wallet, Micros BalanceAfter);

/// <summary>
/// The ledger's invariants, recomputed from the transfers in one consistent snapshot: every stored balance
/// equals the sum of its account's transfers, only refunds and chargebacks ever took a wallet below zero, and all
/// balances sum to zero.
/// </summary>
public sealed record LedgerAudit(
    bool Balanced,
    long TransferCount,
    Micros TotalMoved,
    Micros SumOfBalances,
    IReadOnlyList<AccountAudit> Accounts,
    IReadOnlyList<string> Problems,
    DateTimeOffset CheckedAt)
{
    public int FrozenWallets => Accounts.Count(a => a.Frozen);

    public static LedgerAudit From(long transferCount, Micros totalMoved, IReadOnlyList<AccountAudit> accounts, IReadOnlyList<OverdrawingTransfer> overdrawing,
        DateTimeOffset checkedAt)
    {
        var problems = new List<string>();
        var sum = Micros.Zero;
        foreach (var account in accounts)
        {
            sum += account.DerivedBalance;
            if (!account.StoredMatchesTransfers)
            {
                problems.Add($"Account {account.Code} stores {account.StoredBalance} but its transfers sum to {account.DerivedBalance}.");
            }
        }
        foreach (var transfer in overdrawing)
        {
            problems.Add($"Transfer {transfer.IdempotencyKey} ({transfer.Kind}) left wallet {transfer.Wallet} at {transfer.BalanceAfter}: only a refund or chargeback may.");
        }
        if (sum != Micros.Zero)
        {
            problems.Add($"All balances sum to {sum}, not zero.");
        }
        return new LedgerAudit(problems.Count == 0, transferCount, totalMoved, sum, accounts, problems, checkedAt);
    }
}
