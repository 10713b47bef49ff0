using System.Text.Json;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Stripe;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Deposits;

namespace Aisa.Settlement.Api.Rails;

/// <summary>
/// Card top-ups through Stripe Checkout: the request is a pending <c>stripe</c> deposit named by its Checkout Session;
/// a paid session (from a signed webhook, or read by the watcher when no webhook came) credits it once, under
/// <c>stripe:checkout:&lt;session id&gt;</c>, with the amount Stripe says was paid. Refunds and disputes of such a
/// payment are booked back against the wallet, which a chargeback may leave below zero (frozen until topped up).
/// </summary>
public sealed class StripeTopUps(StripeOptions options, StripeClient stripe, DepositStore deposits, DepositProcessor processor, TimeProvider clock, ILogger<StripeTopUps> logger)
{
    public const string Rail = DepositProcessor.StripeRail;
    private static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(24);

    public StripeOptions Options => options;

    /// <summary>A Checkout Session for <paramref name="amount"/> (whole cents); the deposit is failed if Stripe refuses.</summary>
    public async Task<(Deposit Deposit, CheckoutSession Session)> CreateAsync(long agentId, Micros amount, CancellationToken cancellationToken)
    {
        var deposit = await deposits.CreatePendingAsync(Rail, agentId, amount, null, 1, clock.GetUtcNow() + SessionLifetime, cancellationToken);
        CheckoutSession session;
        try
        {
            session = await stripe.CreateCheckoutSessionAsync(amount.Value / Micros.PerCent, deposit.Id, agentId, cancellationToken);
        }
        catch (StripeException e)
        {
            await deposits.MoveAsync(deposit, DepositState.Failed, 0, Evidence.Of(("stripe", e.Message)), CancellationToken.None);
            throw;
        }
        await deposits.AttachAsync(deposit.Id, session.Id, CancellationToken.None);
        return ((await deposits.FindAsync(deposit.Id, CancellationToken.None))!, session);
    }

    /// <summary>Credits a session Stripe reports paid; null when no deposit of ours names it.</summary>
    public async Task<Deposit?> CreditPaidAsync(CheckoutSession session, string source, CancellationToken cancellationToken)
    {
        var deposit = await deposits.FindByExternalIdAsync(Rail, session.Id, cancellationToken);
        if (deposit is null && long.TryParse(session.DepositId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            // The answer naming the session was lost after Stripe made it: the metadata still names the deposit.
            var requested = await deposits.FindAsync(id, cancellationToken);
            if (requested is { Rail: Rail, ExternalId: null })
            {
                await deposits.AttachAsync(requested.Id, session.Id, cancellationToken);
                deposit = await deposits.FindAsync(requested.Id, cancellationToken);
            }
        }
        var paid = session.Paid && session.Currency == "usd" && session.AmountTotal > 0;
        var evidence = new JsonObject
        {
            ["sessionId"] = session.Id,
            ["paymentIntent"] = session.PaymentIntent,
            ["amountTotal"] = session.AmountTotal,
            ["currency"] = session.Currency,
            ["depositId"] = session.DepositId,
            ["source"] = source,
        };
        if (deposit is null)
        {
            if (paid && session.DepositId is not null)
            {
                // Made by this service (its metadata says so) for a deposit it does not have: the money is ours to hold.
                return await processor.HoldUnattributedAsync(Rail, session.Id, Micros.FromCents(session.AmountTotal), evidence, cancellationToken);
            }
            logger.LogInformation("Stripe session {Session} ({Source}) is no paid top-up of this service: ignored.", session.Id, source);
            return null;
        }
        return paid ? await processor.CreditRequestAsync(Rail, deposit, Micros.FromCents(session.AmountTotal), evidence, cancellationToken) : deposit;
    }

    /// <summary>
    /// The refunds of a charge, as Stripe lists them now (an event's snapshot may be stale, and since API version
    /// 2022-11-15 a charge no longer carries its refunds): each booked once against the wallet the charge credited,
    /// as <c>stripe:refund:&lt;refund id&gt;</c>; a failed or canceled one is booked and given back, so the order in
    /// which the news arrives never matters. Returns the refunds booked.
    /// </summary>
    public async Task<int> ApplyRefundsAsync(string chargeId, string? paymentIntent, string source, CancellationToken cancellationToken)
    {
        var refunds = await stripe.ListRefundsAsync(chargeId, cancellationToken);
        var deposit = await CreditedDepositAsync(paymentIntent ?? refunds.Select(r => r.PaymentIntent).FirstOrDefault(p => p is not null), chargeId, source, cancellationToken);
        if (deposit is null)
        {
            return 0;
        }
        var booked = 0;
        foreach (var refund in refunds.Where(r => r.Currency == "usd" && r.Amount > 0))
        {
            var amount = Micros.FromCents(refund.Amount);
            var key = $"stripe:refund:{refund.Id}";
            var balance = await processor.TakeBackAsync(Rail, deposit, new TakeBack(key, TransferKinds.Refund, amount, refund.Id), cancellationToken);
            if (refund.RefundUndone)
            {
                balance = await processor.TakeBackAsync(Rail, deposit, new TakeBack(key + ":reinstated", TransferKinds.Reinstatement, amount, refund.Id), cancellationToken);
            }
            WarnIfFrozen(deposit, balance, refund.Id);
            booked++;
        }
        return booked;
    }

    /// <summary>
    /// A dispute as its status stands: an inquiry (warning_*) moves nothing; an open or lost dispute has withdrawn the
    /// funds (<c>stripe:dispute:&lt;id&gt;</c>, a chargeback); a won one withdrew and reinstated them (both booked, so
    /// a "closed" arriving before "created" still nets to zero). Returns whether the dispute touched the wallet.
    /// </summary>
    public async Task<bool> ApplyDisputeAsync(ChargeReversal dispute, string source, CancellationToken cancellationToken)
    {
        var (withdrawn, reinstated) = dispute.Status switch
        {
            "needs_response" or "under_review" or "lost" => (true, false),
            "won" => (true, true),
            _ => (false, false),
        };
        if (!withdrawn || dispute.Currency != "usd" || dispute.Amount <= 0)
        {
            logger.LogInformation("Stripe dispute {Dispute} is {Status} ({Source}): no funds moved.", dispute.Id, dispute.Status, source);
            return false;
        }
        var paymentIntent = dispute.PaymentIntent ?? (dispute.Charge is { } charge ? await stripe.ChargePaymentIntentAsync(charge, cancellationToken) : null);
        var deposit = await CreditedDepositAsync(paymentIntent, dispute.Charge ?? dispute.Id, source, cancellationToken);
        if (deposit is null)
        {
            return false;
        }
        var amount = Micros.FromCents(dispute.Amount);
        var key = $"stripe:dispute:{dispute.Id}";
        var balance = await processor.TakeBackAsync(Rail, deposit, new TakeBack(key, TransferKinds.Chargeback, amount, dispute.Id), cancellationToken);
        if (reinstated)
        {
            balance = await processor.TakeBackAsync(Rail, deposit, new TakeBack(key + ":reinstated", TransferKinds.Reinstatement, amount, dispute.Id), cancellationToken);
        }
        WarnIfFrozen(deposit, balance, dispute.Id);
        return true;
    }

    /// <summary>The credited deposit a PaymentIntent paid; a paid session not credited yet (its webhook lost) is credited first.</summary>
    private async Task<Deposit?> CreditedDepositAsync(string? paymentIntent, string about, string source, CancellationToken cancellationToken)
    {
        var session = paymentIntent is null ? null : await stripe.FindCheckoutSessionAsync(paymentIntent, cancellationToken);
        var deposit = session is null ? null : await CreditPaidAsync(session, source, cancellationToken);
        if (deposit?.State != DepositState.Credited)
        {
            // A charge that no top-up of ours made (another product on the same Stripe account), or one not paid.
            logger.LogWarning("Stripe {About} ({Source}) takes back a payment that credited no wallet here: nothing booked.", about, source);
            return null;
        }
        return deposit;
    }

    private void WarnIfFrozen(Deposit deposit, Micros balance, string cause)
    {
        if (balance < Micros.Zero)
        {
            logger.LogWarning("Agent {Agent}'s wallet is at {Balance} after {Cause}: it pays for nothing until topped up.", deposit.AgentId, balance, cause);
        }
    }

    /// <summary>
    /// The watcher's pass: every pending session read from Stripe; paid ones credited, expired ones closed. A session that
    /// cannot be read is noted on its deposit and the pass goes on to the others; only when none could be read (Stripe
    /// itself is away) does the pass fail.
    /// </summary>
    public async Task<JsonObject> PassAsync(CancellationToken cancellationToken)
    {
        var (credited, expired, open, unread) = (0, 0, 0, 0);
        string? firstError = null;
        var pending = await deposits.PendingAsync(Rail, cancellationToken);
        foreach (var deposit in pending)
        {
            CheckoutSession session;
            try
            {
                session = await stripe.GetCheckoutSessionAsync(deposit.ExternalId!, cancellationToken);
            }
            catch (StripeException e)
            {
                unread++;
                firstError ??= e.Message;
                await deposits.NoteAsync(deposit, Evidence.Of(("sessionId", deposit.ExternalId), ("unread", e.Message), ("source", "watcher")), cancellationToken);
                logger.LogWarning("Stripe session {Session} of deposit {Deposit} could not be read: {Error}", deposit.ExternalId, deposit.Id, e.Message);
                continue;
            }
            if (session.Paid)
            {
                if ((await CreditPaidAsync(session, "watcher", cancellationToken))?.State == DepositState.Credited)
                {
                    credited++;
                }
            }
            else if (session.Status == "expired")
            {
                await deposits.MoveAsync(deposit, DepositState.Expired, 0, Evidence.Of(("sessionId", session.Id), ("status", session.Status)), cancellationToken);
                expired++;
            }
            else
            {
                open++;
            }
        }
        if (unread > 0 && unread == pending.Count)
        {
            throw new StripeException($"No pending Checkout Session could be read from Stripe ({unread}): {firstError}", transient: true);
        }
        return new JsonObject { ["credited"] = credited, ["expired"] = expired, ["open"] = open, ["unread"] = unread };
    }
}

/// <summary><c>POST /api/webhooks/stripe</c>: a delivery is verified before anything is read from it; a bad one gets 400 and changes nothing.</summary>
public static class StripeWebhookApi
{
    private const int MaxBody = 1 << 20;

    public static IEndpointRouteBuilder MapStripeWebhookApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/webhooks/stripe", ReceiveAsync).WithTags("Webhooks");
        return endpoints;
    }

    /// <summary>The body, or null as soon as it proves longer than <paramref name="limit"/> bytes (the rest is never read).</summary>
    private static async Task<byte[]?> ReadAtMostAsync(Stream body, int limit, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Min(limit + 1, 64 * 1024)];
        using var kept = new MemoryStream();
        while (true)
        {
            var read = await body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, limit + 1 - kept.Length)), cancellationToken);
            if (read == 0)
            {
                return kept.ToArray();
            }
            kept.Write(buffer, 0, read);
            if (kept.Length > limit)
            {
                return null;
            }
        }
    }

    private static async Task<IResult> ReceiveAsync(HttpRequest request, IServiceProvider services, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (services.GetService<StripeTopUps>() is not { } topUps)
        {
            return ApiResponses.Error(404, "rail_not_enabled", "The stripe rail is not enabled here.").ToResult();
        }
        // The limit holds while reading: nothing past it is read, whatever the sender says its length is.
        if (request.ContentLength > MaxBody || await ReadAtMostAsync(request.Body, MaxBody, cancellationToken) is not { } body)
        {
            return ApiResponses.Error(400, "invalid_request", "A Stripe event is at most 1 MB.").ToResult();
        }
        var check = StripeSignature.Check(request.Headers["Stripe-Signature"].ToString(), body, topUps.Options.Secrets, clock.GetUtcNow(), StripeSignature.DefaultTolerance);
        if (check != SignatureCheck.Valid)
        {
            var reason = check switch
            {
                SignatureCheck.Missing => "The Stripe-Signature header is missing.",
                SignatureCheck.Malformed => "The Stripe-Signature header has no timestamp or no v1 signature.",
                SignatureCheck.OutsideTolerance => "The delivery was signed outside the 300 s tolerance.",
                _ => "No signature matches the endpoint's secret: a wrong secret or a changed body.",
            };
            return ApiResponses.Error(400, "invalid_signature", reason).ToResult();
        }
        JsonObject? stripeEvent;
        try
        {
            stripeEvent = JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            stripeEvent = null;
        }
        var type = stripeEvent?["type"]?.ToString();
        if (stripeEvent is null || type is null)
        {
            return ApiResponses.Error(400, "invalid_request", "A signed delivery that is not a Stripe event.").ToResult();
        }
        var source = $"webhook {stripeEvent["id"]}";
        if (stripeEvent["data"]?["object"] is not JsonObject subject || subject["id"] is null)
        {
            return ApiResponses.Json(200, new { received = true }).ToResult();
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
            return ApiResponses.Error(503, "stripe_unavailable", $"The event could not be applied now: {e.Message}").ToResult();
        }
        return ApiResponses.Json(200, new { received = true }).ToResult();
    }
}

/// <summary>Open Checkout Sessions read from Stripe, so a webhook that never came still credits.</summary>
[Quartz.DisallowConcurrentExecution]
public sealed class StripeWatchJob(StripeTopUps topUps, LeasedRuns runs) : Quartz.IJob
{
    public const string Name = "watch:stripe";

    public async ValueTask Execute(Quartz.IJobExecutionContext context, CancellationToken cancellationToken) =>
        await runs.RunAsync(Name, (_, token) => topUps.PassAsync(token), cancellationToken);
}
