namespace Aisa.Settlement.Rails;

/// <summary>
/// One payment rail (a chain, a card processor, Lightning, a signed-authorization scheme). What it can do is the set of
/// capability interfaces it implements besides this one (<see cref="ITopUpRail"/>, <see cref="IAddressDepositRail"/>,
/// <see cref="IRailWatcher"/>, <see cref="IWebhookRail"/>, <see cref="IAuthorizationPaymentRail"/>, <see cref="IPayoutRail"/>).
/// A rail reads and writes the outside world and reports what it saw; it books money only through <see cref="IDepositBook"/>.
/// </summary>
public interface IRail
{
    RailId Id { get; }

    /// <summary>When a payment on this rail is final, so it may be credited.</summary>
    RailFinality Finality { get; }

    /// <summary>The ledger key of the credit of one payment (its external id): <c>deposit:&lt;rail&gt;:&lt;payment&gt;</c> unless the contract names it otherwise.</summary>
    string CreditKey(string externalId) => $"deposit:{Id}:{externalId}";
}
