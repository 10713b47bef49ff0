using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.X402;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Deposits;

namespace Aisa.Settlement.Api.Rails;

/// <summary>One payment's requirements in both protocol versions.</summary>
public sealed record X402Offer(JsonObject Requirements, JsonObject? RequirementsV1, string ResourceUrl, string Description)
{
    /// <summary>The version 2 <c>PAYMENT-REQUIRED</c> header's value.</summary>
    public string RequiredHeader(string? error) => X402Protocol.Encode(X402Protocol.PaymentRequired(Requirements, ResourceUrl, Description, error));

    /// <summary>Fields of the 402 body a version 1 client reads: <c>x402Version</c> and <c>accepts</c>.</summary>
    public JsonArray? AcceptsV1 => RequirementsV1 is null ? null : new JsonArray(RequirementsV1.DeepClone());
}

/// <summary>What became of one x402 payment.</summary>
public abstract record X402Outcome
{
    /// <summary>Refused with the protocol's error: nothing moved, and the client may sign a new payment.</summary>
    public sealed record Refused(string Error, string Message, JsonObject? Settlement = null) : X402Outcome;

    /// <summary>The facilitator could not be asked (502): <see cref="Retryable"/> when the same payment may be sent again.</summary>
    public sealed record Unavailable(string Error, string Message, bool Retryable) : X402Outcome;

    /// <summary>Settled on chain, as the facilitator reports it: credit once, keyed by the transaction.</summary>
    public sealed record Settled(PaymentPayload Payment, string Transaction, JsonObject Settlement) : X402Outcome;
}

/// <summary>
/// One x402 payment taken from its <c>PAYMENT-SIGNATURE</c> header to settlement: matched against the requirements,
/// its authorization claimed (so it never pays twice, on any instance), verified and settled by the facilitator.
/// A claim is given back when the payment certainly did not settle, and kept when that is unknown.
/// </summary>
public sealed class X402Payments(X402Options options, FacilitatorClient facilitator, X402AuthorizationStore authorizations)
{
    public X402Options Options => options;

    /// <summary>The payment a request carries: <c>PAYMENT-SIGNATURE</c> (version 2) or <c>X-PAYMENT</c> (version 1); null for none.</summary>
    public static (string Header, int Version)? PaymentHeader(IHeaderDictionary headers) =>
        headers.TryGetValue(X402Protocol.SignatureHeader, out var v2) && !string.IsNullOrEmpty(v2) ? (v2.ToString(), X402Protocol.Version)
        : headers.TryGetValue(X402Protocol.V1SignatureHeader, out var v1) && !string.IsNullOrEmpty(v1) ? (v1.ToString(), 1)
        : null;

    /// <summary>What one payment of <paramref name="amount"/> must be, in both protocol versions (version 1 only where the network has a name).</summary>
    public X402Offer Offer(Micros amount, string resourceUrl, string description)
    {
        var units = TokenUnits.FromMicros(amount, options.AssetDecimals);
        return new X402Offer(X402Protocol.Requirements(options, units), X402Protocol.RequirementsV1(options, units, resourceUrl, description), resourceUrl, description);
    }

    public async Task<X402Outcome> PayAsync((string Header, int Version) sent, X402Offer offer, long? agentId, Micros amount, CancellationToken cancellationToken)
    {
        var (payment, problem) = X402Protocol.Decode(sent.Header, sent.Version);
        if (payment is null)
        {
            return new X402Outcome.Refused("invalid_payload", problem!);
        }
        var requirements = payment.Version == X402Protocol.Version ? offer.Requirements : offer.RequirementsV1;
        if (requirements is null)
        {
            return new X402Outcome.Refused("invalid_x402_version", $"{options.Network} has no x402 version 1 name: pay with version 2 ({X402Protocol.SignatureHeader}).");
        }
        if (!X402Protocol.Matches(payment, requirements))
        {
            return new X402Outcome.Refused("invalid_payment_requirements", "The payment does not match these requirements (scheme, network, amount, asset, payTo).");
        }
        var network = requirements["network"]!.ToString();
        try
        {
            if (!await facilitator.SupportsAsync(payment.Version, network, cancellationToken))
            {
                return new X402Outcome.Unavailable("facilitator_unsupported", $"The facilitator does not settle the exact scheme of x402 version {payment.Version} on {network}: nothing was charged.", Retryable: false);
            }
        }
        catch (FacilitatorUnavailableException e)
        {
            return new X402Outcome.Unavailable("facilitator_unavailable", e.Message + " Nothing was charged; retry the same payment.", Retryable: true);
        }
        var claim = new X402Claim(options.Network, payment.Payer, payment.Nonce, agentId, options.Asset!.ToLowerInvariant(), payment.Value, payment.ValidBefore, amount, "settling", default);
        if (!await authorizations.TryClaimAsync(claim, cancellationToken))
        {
            return new X402Outcome.Refused("invalid_exact_evm_nonce_already_used", "This authorization was used already: sign a new payment.");
        }
        Task ReleaseAsync() => authorizations.ReleaseAsync(options.Network, payment.Payer, payment.Nonce, CancellationToken.None);

        VerifyResult verified;
        try
        {
            verified = await facilitator.VerifyAsync(payment, requirements, cancellationToken);
        }
        catch (FacilitatorUnavailableException e)
        {
            await ReleaseAsync();
            return new X402Outcome.Unavailable("facilitator_unavailable", e.Message + " Nothing was charged; retry the same payment.", Retryable: true);
        }
        if (!verified.IsValid)
        {
            await ReleaseAsync();
            var reason = verified.InvalidReason ?? "invalid_payload";
            return new X402Outcome.Refused(reason, $"The facilitator refused the payment: {reason}.");
        }

        SettleResult settled;
        try
        {
            settled = await facilitator.SettleAsync(payment, requirements, CancellationToken.None);
        }
        catch (FacilitatorUnavailableException e)
        {
            // The settlement may have reached the chain: the claim stays, so the authorization cannot pay twice.
            return new X402Outcome.Unavailable("settlement_unknown", e.Message + " The payment may have settled; it is kept for reconciliation and cannot be used again.", Retryable: false);
        }
        if (!settled.Success || string.IsNullOrEmpty(settled.Transaction))
        {
            await ReleaseAsync();
            var reason = settled.ErrorReason ?? "settlement_failed";
            return new X402Outcome.Refused(reason, $"The facilitator could not settle the payment: {reason}.", settled.Json);
        }
        // The claim stays "settling" until the caller has booked the money (BookedAsync): should booking fail, the
        // reconciler finds the settlement on chain and books it under the same key.
        return new X402Outcome.Settled(payment, settled.Transaction.ToLowerInvariant(), settled.Json);
    }

    /// <summary>The settlement is in the ledger: its claim is closed for good.</summary>
    public Task BookedAsync(X402Outcome.Settled settled) =>
        authorizations.SettledAsync(options.Network, settled.Payment.Payer, settled.Payment.Nonce, settled.Transaction, CancellationToken.None);

    /// <summary>Evidence of a settled payment, for the deposit or charge it becomes.</summary>
    public JsonObject Evidence(X402Outcome.Settled settled) => new()
    {
        ["network"] = options.Network,
        ["txHash"] = settled.Transaction,
        ["payer"] = settled.Payment.Payer,
        ["nonce"] = settled.Payment.Nonce,
        ["tokenAmount"] = settled.Payment.Value,
        ["facilitator"] = new Uri(options.FacilitatorUrl!).Host,
    };
}
