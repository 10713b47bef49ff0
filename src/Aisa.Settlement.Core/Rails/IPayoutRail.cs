using System.Text.Json.Nodes;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Rails;

/// <summary>
/// A payout sender: pays a publisher on this rail. What the rail needs never to pay twice (a signed transaction and its
/// nonce, a payment hash, the rail's idempotency key) is prepared and stored by the payout state machine before anything is
/// sent; after a crash the payout resumes from what was stored, never prepared afresh.
/// </summary>
public interface IPayoutRail : IRail
{
    /// <summary>The smallest payout worth sending on this rail.</summary>
    Micros MinimumPayout { get; }

    /// <summary>Whether <paramref name="destination"/> can be paid here (an address with its checksum, a connected account, a resolvable Lightning address), with its normal form.</summary>
    Task<DestinationCheck> CheckDestinationAsync(string destination, CancellationToken cancellationToken);

    /// <summary>Everything the send needs, fixed before it is sent: stored by the caller, then handed to <see cref="SendAsync"/>, as often as needed.</summary>
    Task<PreparedPayout> PrepareAsync(PayoutOrder order, CancellationToken cancellationToken);

    /// <summary>Sends what was prepared; sending it again (after a crash or a timeout) pays nothing more.</summary>
    Task<PayoutProgress> SendAsync(PreparedPayout prepared, CancellationToken cancellationToken);

    /// <summary>Where a sent payout stands now (k/N, a commitment, settled), until it is final one way or the other.</summary>
    Task<PayoutProgress> TrackAsync(PreparedPayout prepared, CancellationToken cancellationToken);
}

/// <param name="Normalized">The destination as it will be stored and paid; null when refused.</param>
/// <param name="Problem">Why it cannot be paid, for the publisher's 400.</param>
public sealed record DestinationCheck(string? Normalized, string? Problem);

/// <param name="Key">Unique to this payout: the rail's idempotency key and the ledger's.</param>
public sealed record PayoutOrder(string Key, long PayoutId, string Destination, Micros Amount);

/// <param name="State">The rail's own record of the payout to send (a signed raw transaction and its nonce, an invoice): opaque to the caller.</param>
public sealed record PreparedPayout(string Key, string State);

public enum PayoutStage
{
    Submitted,
    Confirmed,
    Failed,
}

/// <param name="Reference">The rail's name of the payment (a transaction hash, a transfer id, a payment hash).</param>
public sealed record PayoutProgress(PayoutStage Stage, string? Reference, int Confirmations, int ConfirmationsRequired, JsonObject Evidence);
