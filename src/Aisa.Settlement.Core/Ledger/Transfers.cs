using Aisa.Settlement.Money;

namespace Aisa.Settlement.Ledger;

/// <summary>
/// A request to move a positive amount from one account to another, named by an idempotency key that is
/// unique across the whole ledger (<c>deposit:base:&lt;tx&gt;:&lt;logIndex&gt;</c>, <c>charge:&lt;verify id&gt;</c>, …).
/// </summary>
public sealed record TransferRequest(
    string IdempotencyKey,
    AccountId Debit,
    AccountId Credit,
    Micros Amount,
    string Kind,
    string? Reference = null)
{
    public const int MaxKeyLength = 200;

    public void EnsureValid()
    {
        if (string.IsNullOrWhiteSpace(IdempotencyKey) || IdempotencyKey.Length > MaxKeyLength)
        {
            throw new ArgumentException($"An idempotency key is 1–{MaxKeyLength} characters.", nameof(IdempotencyKey));
        }
        if (!Amount.IsPositive)
        {
            throw new ArgumentOutOfRangeException(nameof(Amount), Amount, "A transfer moves a positive amount.");
        }
        if (Debit == Credit)
        {
            throw new ArgumentException("A transfer moves money between two different accounts.", nameof(Credit));
        }
        if (string.IsNullOrWhiteSpace(Kind))
        {
            throw new ArgumentException("A transfer has a kind.", nameof(Kind));
        }
    }

    /// <summary>Whether the debit may leave a wallet below zero: only a refund or chargeback, money already gone.</summary>
    public bool MayOverdraw => TransferKinds.TakesBackPaidMoney(Kind);

    /// <summary>
    /// The same transfer: what a retry with the same key must match in every field that says what it is — accounts,
    /// amount, kind and reference. Anything else under the key is another operation, refused, never taken as done.
    /// </summary>
    public bool SameMovementAs(Transfer transfer) =>
        transfer.IdempotencyKey == IdempotencyKey && transfer.Debit == Debit && transfer.Credit == Credit && transfer.Amount == Amount
        && transfer.Kind == Kind && transfer.Reference == Reference;
}

/// <summary>
/// A posted transfer. Transfers are immutable. For a balance-constrained side, the balance right after this
/// transfer is kept with it, so a wallet's statement needs no recomputation.
/// </summary>
public sealed record Transfer(
    long Id,
    string IdempotencyKey,
    AccountId Debit,
    AccountId Credit,
    Micros Amount,
    string Kind,
    string? Reference,
    Micros? DebitBalanceAfter,
    Micros? CreditBalanceAfter,
    DateTimeOffset CreatedAt);

public enum PostOutcome
{
    /// <summary>Every transfer of the batch was posted now.</summary>
    Posted,
    /// <summary>The batch had been posted before with the same keys and movements: nothing moved now.</summary>
    AlreadyPosted,
    /// <summary>A key was used before for a different movement: nothing moved.</summary>
    KeyReusedForDifferentTransfer,
    /// <summary>A balance-constrained account could not afford a debit: nothing moved.</summary>
    InsufficientFunds,
    /// <summary>An account of the batch does not exist: nothing moved.</summary>
    AccountNotFound,
    /// <summary>The charges of the batch would take the wallet past a cap it was posted with: nothing moved.</summary>
    BudgetExceeded,
}

/// <param name="Transfers">The transfers of the batch as stored (now or before); empty when nothing was posted.</param>
/// <param name="FailedAccount">The account that could not afford, or does not exist.</param>
/// <param name="Spending">For a batch posted with caps: what the capped account has spent in the day and month of the commit, this batch included when posted.</param>
/// <param name="ExceededPeriod">For <see cref="PostOutcome.BudgetExceeded"/>: the period whose cap the batch would pass.</param>
public sealed record PostResult(PostOutcome Outcome, IReadOnlyList<Transfer> Transfers, AccountId? FailedAccount = null)
{
    public SpendingTotals? Spending { get; init; }

    public SpendingPeriod? ExceededPeriod { get; init; }

    /// <summary>The money moved, now or by the earlier post of the same batch.</summary>
    public bool Succeeded => Outcome is PostOutcome.Posted or PostOutcome.AlreadyPosted;
}
