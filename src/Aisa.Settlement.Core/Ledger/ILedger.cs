using Aisa.Settlement.Money;

namespace Aisa.Settlement.Ledger;

/// <summary>
/// The double-entry ledger, the single source of truth for money. Every movement is a transfer with a unique
/// idempotency key; a batch of transfers posts all together or not at all; agent wallets never go below zero
/// except by money taken back through the rail (<see cref="TransferKinds.TakesBackPaidMoney"/>).
/// </summary>
public interface ILedger
{
    /// <summary>Opens the account with this code, or returns it if it exists with the same kind.</summary>
    Task<Account> OpenAccountAsync(string code, AccountKind kind, CancellationToken cancellationToken);

    Task<Account?> FindAccountAsync(string code, CancellationToken cancellationToken);

    /// <summary>
    /// Posts the transfers atomically, in order. Retrying with the same keys and movements returns
    /// <see cref="PostOutcome.AlreadyPosted"/> and moves nothing, also when the retries run at the same time.
    /// </summary>
    Task<PostResult> PostAsync(IReadOnlyList<TransferRequest> transfers, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="PostAsync(IReadOnlyList{TransferRequest}, CancellationToken)"/>, refusing the batch
    /// (<see cref="PostOutcome.BudgetExceeded"/>) when its charges would take <see cref="SpendingCaps.Account"/> past a cap;
    /// the check and the count move in the commit that posts the charge, so concurrent batches cannot pass a cap together.
    /// </summary>
    Task<PostResult> PostAsync(IReadOnlyList<TransferRequest> transfers, SpendingCaps? caps, CancellationToken cancellationToken);

    /// <summary>What the account has spent on charges in the day and month of <paramref name="at"/>.</summary>
    Task<SpendingTotals> GetSpendingAsync(AccountId account, DateTimeOffset at, CancellationToken cancellationToken);

    Task<Micros> GetBalanceAsync(AccountId account, CancellationToken cancellationToken);

    Task<Transfer?> FindTransferAsync(string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>The movements of one account, newest first, before the transfer id <paramref name="beforeId"/> if given.</summary>
    Task<IReadOnlyList<Transfer>> ListTransfersAsync(AccountId account, int limit, long? beforeId, CancellationToken cancellationToken);

    /// <summary>The total of an account's transfers of one kind, on its debit or its credit side.</summary>
    Task<Micros> SumAsync(AccountId account, string kind, EntrySide side, CancellationToken cancellationToken);

    Task<LedgerAudit> AuditAsync(CancellationToken cancellationToken);
}

public enum EntrySide
{
    Debit,
    Credit,
}

public static class LedgerExtensions
{
    public static Task<PostResult> PostAsync(this ILedger ledger, TransferRequest transfer, CancellationToken cancellationToken) =>
        ledger.PostAsync([transfer], cancellationToken);
}
