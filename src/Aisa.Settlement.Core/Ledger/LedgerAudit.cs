using Aisa.Settlement.Money;

namespace Aisa.Settlement.Ledger;

/// <param name="StoredBalance">The balance kept on the account row; null for accounts whose balance is derived.</param>
/// <param name="DerivedBalance">Credits minus debits over all of the account's transfers.</param>
public sealed record AccountAudit(AccountId Id, string Code, AccountKind Kind, Micros? StoredBalance, Micros DerivedBalance)
{
    public bool StoredMatchesTransfers => StoredBalance is null || StoredBalance == DerivedBalance;
    public bool Overdrawn => Kind.IsBalanceConstrained() && DerivedBalance < Micros.Zero;
}

/// <summary>
/// The ledger's invariants, recomputed from the transfers in one consistent snapshot: every stored balance
/// equals the sum of its account's transfers, no constrained account is below zero, and all balances sum to zero.
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
    public static LedgerAudit From(long transferCount, Micros totalMoved, IReadOnlyList<AccountAudit> accounts, DateTimeOffset checkedAt)
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
            if (account.Overdrawn)
            {
                problems.Add($"Account {account.Code} is below zero: {account.DerivedBalance}.");
            }
        }
        if (sum != Micros.Zero)
        {
            problems.Add($"All balances sum to {sum}, not zero.");
        }
        return new LedgerAudit(problems.Count == 0, transferCount, totalMoved, sum, accounts, problems, checkedAt);
    }
}
