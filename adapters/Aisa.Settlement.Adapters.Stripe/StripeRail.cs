using System.Text.Json;
using System.Text.Json.Nodes;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;

namespace Aisa.Settlement.Adapters.Stripe;

/// <summary>
/// Card top-ups through Stripe Checkout as a rail: a hosted checkout per top-up (<see cref="StripeTopUps"/>), signed webhooks
/// for paid sessions, refunds and disputes, and a watcher job for the webhooks that never came. The default top-up rail.
/// </summary>
public sealed class StripeRail(StripeOptions options, StripeTopUps topUps, TimeProvider clock) : ITopUpRail, IWebhookRail
{
    public static readonly RailId Rail = new("stripe");

    public RailId Id => Rail;

    public RailFinality Finality => RailFinality.Immediate;

    /// <summary>A card top-up's credit, as the contract names it: <c>stripe:checkout:&lt;session id&gt;</c>.</summary>
    public string CreditKey(string externalId) => $"stripe:checkout:{externalId}";

    public WebhookLimit Limit { get; } = new(1 << 20, "A Stripe event is at most 1 MB.");

    public async Task<RailAnswer> CreateTopUpAsync(TopUpRequest request, CancellationToken cancellationToken)
    {
        if (request.Amount.Value % Micros.PerCent != 0)
        {
            return RailAnswer.Refused(400, "invalid_amount", "A card top-up is a whole number of cents, e.g. 5.00.");
        }
        try
        {
            var (topUp, session) = await topUps.CreateAsync(request.AgentId, request.Amount, cancellationToken);
            return RailAnswer.Ok(new { sessionId = session.Id, url = session.Url, depositId = topUp.Id });
        }
        catch (StripeException e)
        {
            return RailAnswer.Refused(502, "stripe_unavailable", e.Message + " Nothing was charged; try again.");
        }
    }

    /// <summary>A delivery is verified before anything is read from it; a bad one gets 400 and changes nothing.</summary>
    public async Task<RailAnswer> ReceiveAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        var check = StripeSignature.Check(delivery.Header("Stripe-Signature") ?? "", delivery.Body, options.Secrets, clock.GetUtcNow(), StripeSignature.DefaultTolerance);
        if (check != SignatureCheck.Valid)
        {
            var reason = check switch
            {
                SignatureCheck.Missing => "The Stripe-Signature header is missing.",
                SignatureCheck.Malformed => "The Stripe-Signature header has no timestamp or no v1 signature.",
                SignatureCheck.OutsideTolerance => "The delivery was signed outside the 300 s tolerance.",
                _ => "No signature matches the endpoint's secret: a wrong secret or a changed body.",
            };
            return RailAnswer.Refused(400, "invalid_signature", reason);
        }
        JsonObject? stripeEvent;
        try
        {
            stripeEvent = JsonNode.Parse(delivery.Body) as JsonObject;
        }
        catch (JsonException)
        {
            stripeEvent = null;
        }
        var type = stripeEvent?["type"]?.ToString();
        if (stripeEvent is null || type is null)
        {
            return RailAnswer.Refused(400, "invalid_request", "A signed delivery that is not a Stripe event.");
        }
        var source = $"webhook {stripeEvent["id"]}";
        if (stripeEvent["data"]?["object"] is not JsonObject subject || subject["id"] is null)
        {
            return RailAnswer.Ok(new { received = true });
        }
        try
        {
            switch (type)
            {
                case "checkout.session.completed" or "checkout.session.async_payment_succeeded":
                    await topUps.CreditPaidAsync(CheckoutSession.Parse(subject), source, cancellationToken);
                    break;
                case "charge.refunded":
                    await topUps.ApplyRefundsAsync(subject["id"]!.ToString(), subject["payment_intent"]?.ToString(), source, cancellationToken);
                    break;
                case "charge.refund.updated" when subject["charge"] is { } charge:
                    await topUps.ApplyRefundsAsync(charge.ToString(), subject["payment_intent"]?.ToString(), source, cancellationToken);
                    break;
                case "charge.dispute.created" or "charge.dispute.updated" or "charge.dispute.closed" or "charge.dispute.funds_withdrawn" or "charge.dispute.funds_reinstated":
                    await topUps.ApplyDisputeAsync(ChargeReversal.Parse(subject), source, cancellationToken);
                    break;
            }
        }
        catch (StripeException e)
        {
            // Not acknowledged, so Stripe delivers it again (for up to three days); every booking is keyed, a repeat books nothing more.
            return RailAnswer.Refused(503, "stripe_unavailable", $"The event could not be applied now: {e.Message}");
        }
        return RailAnswer.Ok(new { received = true });
    }
}
