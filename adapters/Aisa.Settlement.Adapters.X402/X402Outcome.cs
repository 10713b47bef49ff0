using System.Text.Json.Nodes;

namespace Aisa.Settlement.Adapters.X402;

/// <summary>What became of one x402 payment.</summary>
public abstract record X402Outcome
{
    /// <summary>Refused with the protocol's error: nothing moved, and the client may sign a new payment.</summary>
    public sealed record Refused(string Error, string Message, JsonObject? Settlement = null) : X402Outcome;

    /// <summary>The facilitator could not be asked (502): <see cref="Retryable"/> when the same payment may be sent again.</summary>
    public sealed record Unavailable(string Error, string Message, bool Retryable) : X402Outcome;

    /// <summary>Settled on chain, and the chain shows the authorization moved exactly what was asked: credit once, keyed by that transfer.</summary>
    /// <param name="Network">The CAIP-2 network it settled on.</param>
    public sealed record Settled(string Network, PaymentPayload Payment, string Transaction, JsonObject Settlement, AuthorizedTransfer Transfer) : X402Outcome;
}
