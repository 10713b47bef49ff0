using Aisa.Settlement.Money;

namespace Aisa.Settlement.Payouts;

/// <summary>
/// One payout of a publisher's whole available earnings on its chosen rail. <see cref="Prepared"/> is what the rail needs
/// never to pay twice (a signed transaction and its nonce, a payment hash, an idempotency key), stored before it is sent.
/// </summary>
public sealed record Payout(
    long Id,
    long PublisherId,
    string Rail,
    string Destination,
    Micros Amount,
    PayoutState State,
    string? Prepared,
    string? Reference,
    int Confirmations,
    int ConfirmationsRequired,
    string Evidence,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>The ledger key of the move payable → in flight, and the rail's idempotency key: unique to this payout.</summary>
    public string Key => $"payout:{Id}";
}

/// <param name="Minimum">No payout below this: the publisher's own minimum, at least the rail's.</param>
public sealed record PayoutSettings(long PublisherId, string Rail, string Destination, Micros Minimum, DateTimeOffset UpdatedAt);
