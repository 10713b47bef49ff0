using Aisa.Settlement.Ledger;

namespace Aisa.Settlement.Storage.Ledger;

/// <summary>
/// The platform's own accounts, opened once at start-up (opening is idempotent, so every instance may), and each rail's
/// clearing and payouts-in-flight accounts, opened on first use and remembered.
/// </summary>
public sealed class SystemAccounts(ILedger ledger)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, AccountId> _opened = new(StringComparer.Ordinal);
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

    /// <summary>The clearing account of <paramref name="rail"/>: what the rail brought in, against what it credited or paid.</summary>
    public ValueTask<AccountId> ClearingAsync(string rail, CancellationToken cancellationToken) =>
        OpenedAsync(AccountCodes.RailClearing(rail), AccountKind.RailClearing, cancellationToken);

    /// <summary>The payouts of <paramref name="rail"/> in flight: out of publishers' payables, not yet confirmed paid.</summary>
    public ValueTask<AccountId> PayoutsInFlightAsync(string rail, CancellationToken cancellationToken) =>
        OpenedAsync(AccountCodes.PayoutsInFlight(rail), AccountKind.PayoutsInFlight, cancellationToken);

    private async ValueTask<AccountId> OpenedAsync(string code, AccountKind kind, CancellationToken cancellationToken)
    {
        if (!_opened.TryGetValue(code, out var account))
        {
            account = (await ledger.OpenAccountAsync(code, kind, cancellationToken)).Id;
            _opened[code] = account;
        }
        return account;
    }

    private static InvalidOperationException NotOpened() => new("The system accounts are opened at start-up, before any request.");
}
