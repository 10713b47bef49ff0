using Aisa.Settlement.Ledger;

namespace Aisa.Settlement.Storage.Ledger;

/// <summary>The platform's own accounts, opened once at start-up (opening is idempotent, so every instance may).</summary>
public sealed class SystemAccounts(ILedger ledger)
{
    private AccountId? _platformRevenue;
    private AccountId? _operatorAdjustments;
    private AccountId? _suspense;

    public AccountId PlatformRevenue => _platformRevenue ?? throw NotOpened();
    public AccountId OperatorAdjustments => _operatorAdjustments ?? throw NotOpened();
    public AccountId Suspense => _suspense ?? throw NotOpened();

    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        _platformRevenue = (await ledger.OpenAccountAsync(AccountCodes.PlatformRevenue, AccountKind.PlatformRevenue, cancellationToken)).Id;
        _operatorAdjustments = (await ledger.OpenAccountAsync(AccountCodes.OperatorAdjustments, AccountKind.OperatorAdjustments, cancellationToken)).Id;
        _suspense = (await ledger.OpenAccountAsync(AccountCodes.Suspense, AccountKind.Suspense, cancellationToken)).Id;
    }

    private static InvalidOperationException NotOpened() => new("The system accounts are opened at start-up, before any request.");
}
