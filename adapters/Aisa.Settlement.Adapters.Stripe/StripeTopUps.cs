using System.Text.Json.Nodes;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;
using Microsoft.Extensions.Logging;

namespace Aisa.Settlement.Adapters.Stripe;

/// <summary>
/// Card top-ups through Stripe Checkout: the request is a pending <c>stripe</c> deposit named by its Checkout Session;
/// a paid session (from a signed webhook, or read by the watcher when no webhook came) credits it once, under
/// <c>stripe:checkout:&lt;session id&gt;</c>, with the amount Stripe says was paid. Refunds and disputes of such a
/// payment are booked back against the wallet, which a chargeback may leave below zero (frozen until topped up).
/// </summary>
public sealed class StripeTopUps(StripeClient stripe, IDepositBook book, TimeProvider clock, ILogger<StripeTopUps> logger) : IRailJob
{
    public static readonly RailId Rail = StripeRail.Rail;
    public const string JobName = "watch:stripe";
    private static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(24);

    public string Name => JobName;

    public Task<JsonObject> RunAsync(CancellationToken cancellationToken) => PassAsync(cancellationToken);

    /// <summary>A Checkout Session for <paramref name="amount"/> (whole cents); the deposit is failed if Stripe refuses.</summary>
    public async Task<(Deposit Deposit, CheckoutSession Session)> CreateAsync(long agentId, Micros amount, CancellationToken cancellationToken)
    {
        var deposit = await book.OpenAsync(Rail, agentId, amount, null, clock.GetUtcNow() + SessionLifetime, cancellationToken);
        CheckoutSession session;
        try
        {
            session = await stripe.CreateCheckoutSessionAsync(amount.Value / Micros.PerCent, deposit.Id, agentId, cancellationToken);
        }
        catch (StripeException e)
        {
            await book.BookAsync(Rail, new DepositObservation(ObservationKind.Failed, "", 0) { DepositId = deposit.Id, Evidence = Json(("stripe", e.Message)) }, CancellationToken.None);
            throw;
        }
        await book.NameAsync(deposit.Id, session.Id, null, CancellationToken.None);
        return ((await book.FindAsync(deposit.Id, CancellationToken.None))!, session);
    }

    /// <summary>Credits a session Stripe reports paid; null when no deposit of ours names it.</summary>
    public async Task<Deposit?> CreditPaidAsync(CheckoutSession session, string source, CancellationToken cancellationToken)
    {
        var deposit = await book.FindAsync(Rail, session.Id, cancellationToken);
        if (deposit is null && long.TryParse(session.DepositId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            // The answer naming the session was lost after Stripe made it: the metadata still names the deposit.
            var requested = await book.FindAsync(id, cancellationToken);
            if (requested is { ExternalId: null } && requested.Rail == Rail.Value)
            {
                await book.NameAsync(requested.Id, session.Id, null, cancellationToken);
                deposit = await book.FindAsync(requested.Id, cancellationToken);
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
                return await book.BookAsync(Rail, new DepositObservation(ObservationKind.Seen, session.Id, 1) { Paid = Micros.FromCents(session.AmountTotal), Evidence = evidence }, cancellationToken);
            }
            logger.LogInformation("Stripe session {Session} ({Source}) is no paid top-up of this service: ignored.", session.Id, source);
            return null;
        }
        return paid
            ? await book.BookAsync(Rail, new DepositObservation(ObservationKind.Seen, session.Id, 1) { DepositId = deposit.Id, Paid = Micros.FromCents(session.AmountTotal), Evidence = evidence }, cancellationToken)
            : deposit;
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
            await ReverseAsync(deposit, new Reversal(key, TransferKinds.Refund, amount, refund.Id), cancellationToken);
            if (refund.RefundUndone)
            {
                await ReverseAsync(deposit, new Reversal(key + ":reinstated", TransferKinds.Reinstatement, amount, refund.Id), cancellationToken);
            }
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
        await ReverseAsync(deposit, new Reversal(key, TransferKinds.Chargeback, amount, dispute.Id), cancellationToken);
        if (reinstated)
        {
            await ReverseAsync(deposit, new Reversal(key + ":reinstated", TransferKinds.Reinstatement, amount, dispute.Id), cancellationToken);
        }
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

    private Task<Deposit?> ReverseAsync(Deposit deposit, Reversal reversal, CancellationToken cancellationToken) =>
        book.BookAsync(Rail, new DepositObservation(ObservationKind.Reversed, deposit.ExternalId!, 1) { DepositId = deposit.Id, Reversal = reversal }, cancellationToken);

    private static JsonObject Json(params (string Name, string? Value)[] fields)
    {
        var json = new JsonObject();
        foreach (var (name, value) in fields)
        {
            json[name] = value;
        }
        return json;
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
        var pending = await book.PendingAsync(Rail, cancellationToken);
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
                await book.BookAsync(Rail, new DepositObservation(ObservationKind.Noted, deposit.ExternalId!, 0)
                {
                    DepositId = deposit.Id,
                    Evidence = Json(("sessionId", deposit.ExternalId), ("unread", e.Message), ("source", "watcher")),
                }, cancellationToken);
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
                await book.BookAsync(Rail, new DepositObservation(ObservationKind.Expired, session.Id, 0)
                {
                    DepositId = deposit.Id,
                    Evidence = Json(("sessionId", session.Id), ("status", session.Status)),
                }, cancellationToken);
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
