using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;

namespace Aisa.Settlement.Adapters.Stripe;

/// <summary>
/// Card top-ups through Stripe Checkout as a rail: a hosted checkout per top-up (<see cref="StripeTopUps"/>), signed webhooks
/// for paid sessions, refunds and disputes, and a watcher job for the webhooks that never came. The default top-up rail.
/// </summary>
public class StripeRail(StripeOptions options, StripeTopUps topUps, TimeProvider clock) : ITopUpRail, IWebhookRail
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

    /// <summary>
    /// A delivery is verified by Stripe.net (the signature with any configured secret, the 300 s tolerance, the event's API
    /// version the library's own) before anything is read from it; a bad one gets 400 and changes nothing.
    /// </summary>
    public async Task<RailAnswer> ReceiveAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        var header = delivery.Header("Stripe-Signature");
        if (string.IsNullOrWhiteSpace(header))
        {
            return RailAnswer.Refused(400, "invalid_signature", "The Stripe-Signature header is missing.");
        }
        var json = System.Text.Encoding.UTF8.GetString(delivery.Body);
        global::Stripe.Event? stripeEvent = null;
        string? refused = null;
        // Several secrets while one is rolled: the library checks one at a time.
        foreach (var secret in options.Secrets)
        {
            try
            {
                stripeEvent = global::Stripe.EventUtility.ConstructEvent(json, header, secret, tolerance: 300, utcNow: clock.GetUtcNow().ToUnixTimeSeconds(), throwOnApiVersionMismatch: true);
                break;
            }
            catch (global::Stripe.StripeException e)
            {
                // A secret that matched says why it still failed (the tolerance, another API version): that, before any "no match".
                refused = refused is null || !e.Message.Contains("not present", StringComparison.Ordinal) ? e.Message : refused;
            }
            catch (Newtonsoft.Json.JsonException)
            {
                return RailAnswer.Refused(400, "invalid_request", "A signed delivery that is not a Stripe event.");
            }
        }
        if (stripeEvent is null)
        {
            return refused?.Contains("API version", StringComparison.Ordinal) == true
                // Signed, but written at another API version than the library reads: the endpoint must be made at StripeOptions.ApiVersion.
                ? RailAnswer.Refused(400, "unsupported_api_version", refused)
                : RailAnswer.Refused(400, "invalid_signature", refused ?? "No signature matches the endpoint's secret: a wrong secret or a changed body.");
        }
        var type = stripeEvent.Type;
        var source = $"webhook {stripeEvent.Id}";
        try
        {
            switch (type)
            {
                case "checkout.session.completed" or "checkout.session.async_payment_succeeded" when stripeEvent.Data.Object is global::Stripe.Checkout.Session session:
                    await topUps.CreditPaidAsync(StripeClient.Session(session), source, cancellationToken);
                    break;
                case "charge.refunded" when stripeEvent.Data.Object is global::Stripe.Charge charge:
                    await topUps.ApplyRefundsAsync(charge.Id, charge.PaymentIntentId, source, cancellationToken);
                    break;
                case "charge.refund.updated" when stripeEvent.Data.Object is global::Stripe.Refund { ChargeId: { } charge } refund:
                    await topUps.ApplyRefundsAsync(charge, refund.PaymentIntentId, source, cancellationToken);
                    break;
                case "charge.dispute.created" or "charge.dispute.updated" or "charge.dispute.closed" or "charge.dispute.funds_withdrawn" or "charge.dispute.funds_reinstated"
                    when stripeEvent.Data.Object is global::Stripe.Dispute dispute:
                    await topUps.ApplyDisputeAsync(StripeClient.Dispute(dispute), source, cancellationToken);
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
