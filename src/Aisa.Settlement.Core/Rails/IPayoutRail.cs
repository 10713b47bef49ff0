using System.Text.Json.Nodes;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Rails;

/// <summary>
/// A payout sender: pays a publisher on this rail. What the rail needs never to pay twice (a signed transaction and its
/// nonce, a payment hash, the rail's idempotency key) is prepared, then stored by the payout state machine before anything
/// is sent; after a crash the payout resumes from what was stored, never prepared afresh.
/// </summary>
public interface IPayoutRail : IRail
{
    /// <summary>What of <paramref name="available"/> this rail can pay exactly (a card network pays whole cents): the payout's amount; the rest stays in the payable.</summary>
    Micros Payable(Micros available) => available;

    /// <summary>Whether <paramref name="destination"/> can be paid here (an address with its checksum, a connected account, a resolvable Lightning address), with its normal form.</summary>
    Task<DestinationCheck> CheckDestinationAsync(string destination, CancellationToken cancellationToken);

    /// <summary>
    /// Everything the send needs, fixed before it is sent: stored by the caller, then handed to <see cref="SendAsync"/> and
    /// <see cref="TrackAsync"/> as often as needed. Throws <see cref="PayoutRefusedException"/> when it can never be paid
    /// (nothing was sent: the payout is reversed); any other failure is tried again on the next pass.
    /// </summary>
    Task<PreparedPayout> PrepareAsync(PayoutOrder order, CancellationToken cancellationToken);

    /// <summary>Sends what was prepared; sending it again (after a crash or a timeout) pays nothing more.</summary>
    Task<PayoutProgress> SendAsync(PreparedPayout prepared, CancellationToken cancellationToken);

    /// <summary>
    /// Where a sent payout stands now (k/N, settled), until it is final one way or the other; sends it again when the rail
    /// lost it. <see cref="PayoutStage.Failed"/> only when the rail is sure nothing was paid.
    /// </summary>
    Task<PayoutProgress> TrackAsync(PreparedPayout prepared, CancellationToken cancellationToken);
}

/// <param name="Normalized">The destination as it will be stored and paid; null when refused.</param>
/// <param name="Problem">Why it cannot be paid, for the publisher's 400.</param>
public sealed record DestinationCheck(string? Normalized, string? Problem)
{
    public static DestinationCheck Valid(string normalized) => new(normalized, null);

    public static DestinationCheck Refused(string problem) => new(null, problem);
}

/// <param name="Key">Unique to this payout: the rail's idempotency key and the ledger's.</param>
/// <param name="Outstanding">
/// What was prepared for this rail's other payouts that are not final yet, as stored: a rail that numbers its sends (an
/// account nonce) numbers this one after them.
/// </param>
public sealed record PayoutOrder(string Key, long PayoutId, string Destination, Micros Amount, IReadOnlyList<PreparedPayout> Outstanding);

/// <param name="State">The rail's own record of the payout to send (a signed raw transaction and its nonce, an invoice): opaque to the caller.</param>
/// <param name="Reference">The rail's name of what will be sent, where it is known before sending (a transaction hash, a signature).</param>
public sealed record PreparedPayout(string Key, string State, string? Reference = null);

public enum PayoutStage
{
    Submitted,
    Confirmed,
    Failed,
}

/// <param name="Reference">The rail's name of the payment (a transaction hash, a transfer id, a payment hash).</param>
/// <param name="Replacement">
/// What replaces the prepared record (a stuck transaction re-signed with the same nonce and a higher fee): stored by the
/// caller, then sent, before anything else.
/// </param>
public sealed record PayoutProgress(PayoutStage Stage, string? Reference, int Confirmations, int ConfirmationsRequired, JsonObject Evidence, PreparedPayout? Replacement = null);

/// <summary>The rail can never pay this payout (a destination that no longer resolves, a refused transfer): nothing was sent.</summary>
public sealed class PayoutRefusedException(string message) : Exception(message);
