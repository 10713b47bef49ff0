using System.Text.Json.Nodes;

namespace Aisa.Settlement.Adapters.Lightning.Backends;

/// <summary>Where an outgoing payment stands on the backend's node.</summary>
public enum PaymentStatus
{
    /// <summary>The node has no payment for this hash: it never left.</summary>
    Unknown,
    InFlight,
    Succeeded,
    /// <summary>Final: the node gave up, nothing was paid.</summary>
    Failed,
}

/// <param name="Evidence">What the backend answered (status, fee, preimage, failure reason), for the payout's evidence.</param>
public sealed record PaymentReading(PaymentStatus Status, JsonObject Evidence);
