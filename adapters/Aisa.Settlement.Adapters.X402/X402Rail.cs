using Aisa.Settlement.Deposits;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;

namespace Aisa.Settlement.Adapters.X402;

/// <summary>
/// x402 (the <c>exact</c> scheme, EIP-3009) as a rail: a top-up or one request paid by a signed authorization the request
/// carries, settled through the facilitator inside the request; settlements whose answer was lost are found on chain by
/// the reconciler (<see cref="X402Reconciler"/>).
/// </summary>
public sealed class X402Rail(X402Payments payments, X402Credits credits) : ITopUpRail, IAuthorizationPaymentRail
{
    public static readonly RailId Rail = new("x402");

    public RailId Id => Rail;

    public RailFinality Finality => RailFinality.Immediate;

    /// <summary>
    /// The ledger key of one request paid with x402 (the publisher's charge, or suspense if the request failed): the
    /// settlement's transfer, so two payments a facilitator settles in one transaction are two bookings.
    /// </summary>
    public static string RequestKey(string network, string transaction, int position) => $"x402:{network}:{transaction}#{position}";

    /// <summary>What an earlier build keyed a request by: its transaction alone.</summary>
    public static string LegacyRequestKey(string network, string transaction) => $"x402:{network}:{transaction}";

    public static string ResponseHeader(int version) => version == X402Protocol.Version ? X402Protocol.ResponseHeader : X402Protocol.V1ResponseHeader;

    /// <summary>x402 pays at the request itself: the instructions are where to send it, and what it will ask.</summary>
    public Task<RailAnswer> CreateTopUpAsync(TopUpRequest request, CancellationToken cancellationToken)
    {
        var payUrl = request.PublicUrl($"/api/agent/topup/{Rail}?amount={request.Amount.ToAmountString()}");
        var preferred = payments.Chains.All[0].Settings;
        return Task.FromResult(RailAnswer.Ok(new
        {
            rail = Rail.Value,
            // The preferred network's, as before there were several; every network in networks.
            network = preferred.Network,
            asset = preferred.Asset,
            payTo = preferred.PayTo,
            networks = payments.Chains.All.Select(c => new { network = c.Network, asset = c.Settings.Asset, payTo = c.Settings.PayTo }),
            amount = request.Amount,
            url = payUrl,
            message = $"POST {payUrl} with your crawler token or session: it answers 402 with the x402 requirements; pay them and send the request again.",
        }));
    }

    public SignedPayment? ReadPayment(Func<string, string?> header) => X402Payments.PaymentHeader(header);

    public PaymentOffer Offer(Micros amount, string resourceUrl, string description) => payments.Offer(amount, resourceUrl, description);

    public string HowToPayRequest => $"pay this request with x402 ({X402Protocol.SignatureHeader})";

    public string HowToTopUp(Micros amount) =>
        $"Pay {amount.ToAmountString()} USD with x402 (scheme exact, on {string.Join(" or ", payments.Chains.All.Select(c => c.Network))}) in the {X402Protocol.SignatureHeader} header. " +
        "BNB Smart Chain's USDC has no EIP-3009, so x402 cannot pay there: on BNB, send USDC to your deposit address (GET /api/agent/deposit-addresses).";

    public async Task<AuthorizationOutcome> PayAsync(SignedPayment payment, PaymentOffer offer, long? agentId, Micros amount, CancellationToken cancellationToken) =>
        await payments.PayAsync(payment, (X402Offer)offer, agentId, amount, cancellationToken) switch
        {
            X402Outcome.Refused refused => new AuthorizationOutcome.Refused(refused.Error, refused.Message,
                refused.Settlement is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [ResponseHeader(payment.Version)] = X402Protocol.Encode(refused.Settlement) }),
            X402Outcome.Unavailable unavailable => new AuthorizationOutcome.Unavailable(unavailable.Error, unavailable.Message, unavailable.Retryable),
            X402Outcome.Settled settled => new AuthorizationOutcome.Settled(settled.Transaction, RequestKey(settled.Network, settled.Transaction, settled.Transfer.Position),
                new Dictionary<string, string> { [ResponseHeader(settled.Payment.Version)] = X402Protocol.Encode(settled.Settlement) }, settled),
            _ => throw new InvalidOperationException("An x402 payment ends refused, unavailable or settled."),
        };

    public Task<Deposit> CreditTopUpAsync(long agentId, AuthorizationOutcome.Settled settled, Micros amount, CancellationToken cancellationToken)
    {
        var detail = (X402Outcome.Settled)settled.Detail;
        return credits.TopUpAsync(agentId, detail.Network, detail.Transfer, amount, payments.Evidence(detail), cancellationToken);
    }

    public Task BookedAsync(AuthorizationOutcome.Settled settled) => payments.BookedAsync((X402Outcome.Settled)settled.Detail);
}
