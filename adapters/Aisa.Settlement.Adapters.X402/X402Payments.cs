using System.Text.Json.Nodes;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;
using Microsoft.Extensions.Logging;

namespace Aisa.Settlement.Adapters.X402;

/// <summary>
/// One x402 payment taken from its <c>PAYMENT-SIGNATURE</c> header to settlement: matched against the requirements,
/// its authorization claimed (so it never pays twice, on any instance), verified and settled by the facilitator.
/// A claim is given back when the payment certainly did not settle, and kept when that is unknown.
/// </summary>
public sealed class X402Payments(X402Options options, X402Chains chains, FacilitatorClient facilitator, IAuthorizationClaims authorizations,
    IDepositBook book, TimeProvider clock, ILogger<X402Payments> logger)
{
    public X402Options Options => options;

    public X402Chains Chains => chains;

    /// <summary>The payment a request carries: <c>PAYMENT-SIGNATURE</c> (version 2) or <c>X-PAYMENT</c> (version 1); null for none.</summary>
    public static SignedPayment? PaymentHeader(Func<string, string?> header) =>
        header(X402Protocol.SignatureHeader) is { Length: > 0 } v2 ? new SignedPayment(v2, X402Protocol.Version)
        : header(X402Protocol.V1SignatureHeader) is { Length: > 0 } v1 ? new SignedPayment(v1, 1)
        : null;

    /// <summary>What one payment of <paramref name="amount"/> must be on each network, in both protocol versions (version 1 only where the network has a name).</summary>
    public X402Offer Offer(Micros amount, string resourceUrl, string description)
    {
        var accepts = new List<JsonObject>();
        var acceptsV1 = new List<JsonObject>();
        foreach (var network in chains.All.Select(c => c.Settings))
        {
            var units = TokenUnits.FromMicros(amount, network.AssetDecimals);
            accepts.Add(X402Protocol.Requirements(network, options.MaxTimeoutSeconds, units));
            if (X402Protocol.RequirementsV1(network, options.MaxTimeoutSeconds, units, resourceUrl, description) is { } v1)
            {
                acceptsV1.Add(v1);
            }
        }
        return new X402Offer(accepts, acceptsV1, resourceUrl, description);
    }

    public async Task<X402Outcome> PayAsync(SignedPayment sent, X402Offer offer, long? agentId, Micros amount, CancellationToken cancellationToken)
    {
        var (payment, problem) = X402Protocol.Decode(sent.Value, sent.Version);
        if (payment is null)
        {
            return new X402Outcome.Refused("invalid_payload", problem!);
        }
        // The client pays one of the networks offered, and says which.
        var chosen = payment.Accepted["network"]?.ToString();
        var chain = payment.Version == X402Protocol.Version ? chains.Find(chosen ?? "") : chains.FindV1(chosen ?? "");
        var requirements = (payment.Version == X402Protocol.Version ? offer.Accepts : offer.AcceptsV1).FirstOrDefault(r => r["network"]?.ToString() == chosen);
        if (payment.Version != X402Protocol.Version && offer.AcceptsV1.Count == 0)
        {
            return new X402Outcome.Refused("invalid_x402_version",
                $"{string.Join(", ", chains.All.Select(c => c.Network))} has no x402 version 1 name: pay with version 2 ({X402Protocol.SignatureHeader}).");
        }
        if (chain is null || requirements is null)
        {
            return new X402Outcome.Refused("invalid_payment_requirements",
                $"The payment is for {chosen ?? "no network"}, which is not one of these requirements' ({string.Join(", ", offer.Accepts.Select(r => r["network"]))}).");
        }
        if (!X402Protocol.Matches(payment, requirements))
        {
            return new X402Outcome.Refused("invalid_payment_requirements", "The payment does not match these requirements (scheme, network, amount, asset, payTo).");
        }
        // What the client says it accepted is its word; what it signed is what can move money: checked before anyone is asked.
        if (X402Protocol.CheckAuthorization(payment, requirements, clock.GetUtcNow()) is { } refusal)
        {
            return new X402Outcome.Refused(refusal.Error, refusal.Message + " Nothing was charged.");
        }
        var network = requirements["network"]!.ToString();
        var settings = chain.Settings;
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
        var claim = new AuthorizationClaim(settings.Network, payment.Payer, payment.Nonce, agentId, settings.Asset!.ToLowerInvariant(), payment.Value, payment.ValidBefore, amount, "settling", clock.GetUtcNow());
        if (!await authorizations.TryClaimAsync(claim, cancellationToken))
        {
            return new X402Outcome.Refused("invalid_exact_evm_nonce_already_used", "This authorization was used already: sign a new payment.");
        }
        Task ReleaseAsync() => authorizations.ReleaseAsync(settings.Network, payment.Payer, payment.Nonce, CancellationToken.None);

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
        // The facilitator's word is not money: the transaction it names must show this authorization moving exactly what
        // was claimed (not another payment batched into the same transaction, not a front-run with the same nonce).
        var transaction = settled.Transaction.ToLowerInvariant();
        var check = await CheckSettlementAsync(claim, transaction, CancellationToken.None);
        for (var attempt = 1; check is SettlementCheck.Unknown && attempt < 3; attempt++)
        {
            // The facilitator answers once its node has the receipt; ours may be a moment behind.
            await Task.Delay(TimeSpan.FromMilliseconds(500), CancellationToken.None);
            check = await CheckSettlementAsync(claim, transaction, CancellationToken.None);
        }
        switch (check)
        {
            case SettlementCheck.Matches matches:
                // The claim stays "settling" until the caller has booked the money (BookedAsync): should booking fail, the
                // reconciler finds the settlement on chain and books it under the same key.
                return new X402Outcome.Settled(settings.Network, payment, transaction, settled.Json, matches.Transfer);
            case SettlementCheck.Mismatched:
                return new X402Outcome.Refused("invalid_exact_evm_transfer_event_mismatch",
                    $"The settlement {transaction} did not move what this payment authorized: nothing was credited.", settled.Json);
            default:
                return new X402Outcome.Unavailable("settlement_unknown",
                    $"The facilitator reports {transaction}, which does not (yet) show this payment on chain: it is kept for reconciliation and cannot be used again.", Retryable: false);
        }
    }

    /// <summary>
    /// Reads what <paramref name="transaction"/> did with the claim's authorization. A transfer that is not exactly the claim
    /// (from the payer, to our payTo, the units claimed, in our asset) closes the claim with its evidence; whatever of it
    /// reached our treasury is held in suspense for an operator, never credited to the claimant.
    /// </summary>
    public async Task<SettlementCheck> CheckSettlementAsync(AuthorizationClaim claim, string transaction, CancellationToken cancellationToken)
    {
        if (chains.Find(claim.Network) is not { } chain)
        {
            return new SettlementCheck.Unknown($"{claim.Network} is no longer in {X402Options.Section}: its settlements cannot be read.");
        }
        var reading = await chain.Chain.ReadAsync(transaction, claim.Asset, claim.Payer, claim.Nonce, cancellationToken);
        if (reading.Status != SettlementStatus.Used)
        {
            return new SettlementCheck.Unknown($"transaction {transaction}: {reading.Status}");
        }
        var payTo = chain.Settings.PayTo!.ToLowerInvariant();
        var transfer = reading.Transfer?.Transfer;
        if (transfer is not null && transfer.From == claim.Payer && transfer.To == payTo && transfer.Token == claim.Asset
            && transfer.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) == claim.Value)
        {
            return new SettlementCheck.Matches(reading.Transfer!);
        }
        var evidence = new JsonObject
        {
            ["network"] = claim.Network,
            ["txHash"] = transaction,
            ["payer"] = claim.Payer,
            ["nonce"] = claim.Nonce,
            ["claimed"] = new JsonObject { ["to"] = payTo, ["tokenAmount"] = claim.Value, ["asset"] = claim.Asset },
            ["moved"] = transfer is null ? null : new JsonObject
            {
                ["from"] = transfer.From,
                ["to"] = transfer.To,
                ["tokenAmount"] = transfer.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["logPosition"] = reading.Transfer!.Position,
            },
        };
        if (transfer is not null && transfer.To == payTo)
        {
            if (TokenUnits.TryToMicros(transfer.Value, chain.Settings.AssetDecimals, out var reached) && reached.Micros.IsPositive)
            {
                // Money that reached the treasury for no claim it matches: held in suspense, for an operator.
                await book.BookAsync(X402Rail.Rail, new DepositObservation(ObservationKind.Seen, $"{claim.Network}:{transaction}#{reading.Transfer!.Position}", 1)
                {
                    Paid = reached.Micros,
                    Evidence = evidence.DeepClone().AsObject(),
                }, cancellationToken);
            }
            else
            {
                logger.LogError("x402 settlement {Transaction} moved {Units} units to the treasury that the ledger cannot hold: resolve it by hand.", transaction, transfer.Value);
            }
        }
        await authorizations.MismatchedAsync(claim, transaction, evidence.ToJsonString(), cancellationToken);
        logger.LogWarning("x402 authorization {Payer}/{Nonce} was used by {Transaction} for something else than claimed: closed, nothing credited ({Evidence}).",
            claim.Payer, claim.Nonce, transaction, evidence.ToJsonString());
        return new SettlementCheck.Mismatched(evidence);
    }

    /// <summary>The settlement is in the ledger: its claim is closed for good.</summary>
    public Task BookedAsync(X402Outcome.Settled settled) =>
        authorizations.SettledAsync(settled.Network, settled.Payment.Payer, settled.Payment.Nonce, settled.Transaction, CancellationToken.None);

    /// <summary>Evidence of a settled payment, for the deposit or charge it becomes.</summary>
    public JsonObject Evidence(X402Outcome.Settled settled) => new()
    {
        ["network"] = settled.Network,
        ["txHash"] = settled.Transaction,
        ["payer"] = settled.Payment.Payer,
        ["nonce"] = settled.Payment.Nonce,
        ["tokenAmount"] = settled.Payment.Value,
        ["logPosition"] = settled.Transfer.Position,
        ["facilitator"] = new Uri(options.FacilitatorUrl!).Host,
    };
}
