using System.Globalization;

namespace Aisa.Settlement.Adapters.Stripe;

/// <summary>Stripe answered with an error object, or could not be reached. The message never holds the key.</summary>
public sealed class StripeException(string message, bool transient, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Worth retrying with the same Idempotency-Key (network, 5xx, 429).</summary>
    public bool Transient { get; } = transient;
}

/// <summary>The fields of a Checkout Session this service reads.</summary>
public sealed record CheckoutSession(
    string Id,
    string? Url,
    string Status,
    string PaymentStatus,
    long AmountTotal,
    string Currency,
    string? ClientReferenceId,
    string? DepositId,
    string? PaymentIntent)
{
    public bool Paid => PaymentStatus == "paid";
}

/// <summary>
/// A Refund or a Dispute of a charge: the fields the two objects share. A refund's status is pending,
/// requires_action, succeeded, failed or canceled; a dispute's warning_needs_response, warning_under_review,
/// warning_closed (an inquiry: no funds move), needs_response, under_review, lost (the funds were withdrawn), won
/// (withdrawn, then reinstated) or prevented.
/// </summary>
public sealed record ChargeReversal(string Id, long Amount, string Currency, string Status, string? Charge, string? PaymentIntent)
{
    /// <summary>A failed or canceled refund gave the money back to us.</summary>
    public bool RefundUndone => Status is "failed" or "canceled";
}

/// <summary>
/// Stripe's API through Stripe.net, at the library's pinned API version: an Idempotency-Key on every create, each call with its
/// own timeout; what the rail reads is mapped to <see cref="CheckoutSession"/> and <see cref="ChargeReversal"/>.
/// </summary>
public sealed class StripeClient(global::Stripe.IStripeClient client, StripeOptions options)
{
    /// <summary>A Checkout Session for a one-off USD amount; the deposit id rides along in client_reference_id and metadata.</summary>
    public async Task<CheckoutSession> CreateCheckoutSessionAsync(long amountCents, long depositId, long agentId, CancellationToken cancellationToken)
    {
        var deposit = depositId.ToString(CultureInfo.InvariantCulture);
        var create = new global::Stripe.Checkout.SessionCreateOptions
        {
            Mode = "payment",
            LineItems =
            [
                new global::Stripe.Checkout.SessionLineItemOptions
                {
                    PriceData = new global::Stripe.Checkout.SessionLineItemPriceDataOptions
                    {
                        Currency = "usd",
                        UnitAmount = amountCents,
                        ProductData = new global::Stripe.Checkout.SessionLineItemPriceDataProductDataOptions { Name = "AISA wallet top-up" },
                    },
                    Quantity = 1,
                },
            ],
            SuccessUrl = options.SuccessUrl,
            CancelUrl = options.CancelUrl,
            ClientReferenceId = deposit,
            Metadata = new Dictionary<string, string> { ["deposit_id"] = deposit, ["agent_id"] = agentId.ToString(CultureInfo.InvariantCulture) },
            PaymentIntentData = new global::Stripe.Checkout.SessionPaymentIntentDataOptions { Metadata = new Dictionary<string, string> { ["deposit_id"] = deposit } },
        };
        // One key per deposit: a retry after a lost answer gets the same session back, never a second one.
        return await CallAsync("checkout", token => new global::Stripe.Checkout.SessionService(client)
            .CreateAsync(create, new global::Stripe.RequestOptions { IdempotencyKey = $"aisa-topup-{deposit}" }, token), Session, cancellationToken);
    }

    public Task<CheckoutSession> GetCheckoutSessionAsync(string id, CancellationToken cancellationToken) =>
        CallAsync("checkout", token => new global::Stripe.Checkout.SessionService(client).GetAsync(id, null, null, token), Session, cancellationToken);

    /// <summary>The Checkout Session that the PaymentIntent paid, if any.</summary>
    public Task<CheckoutSession?> FindCheckoutSessionAsync(string paymentIntent, CancellationToken cancellationToken) =>
        CallAsync("checkout", token => new global::Stripe.Checkout.SessionService(client)
            .ListAsync(new global::Stripe.Checkout.SessionListOptions { PaymentIntent = paymentIntent, Limit = 1 }, null, token),
            list => list.Data.Count > 0 ? Session(list.Data[0]) : null, cancellationToken);

    /// <summary>Every refund of a charge (a charge has at most a handful: one page of 100).</summary>
    public Task<IReadOnlyList<ChargeReversal>> ListRefundsAsync(string chargeId, CancellationToken cancellationToken) =>
        CallAsync("refunds", token => new global::Stripe.RefundService(client).ListAsync(new global::Stripe.RefundListOptions { Charge = chargeId, Limit = 100 }, null, token),
            list => (IReadOnlyList<ChargeReversal>)list.Data.Select(Refund).ToList(), cancellationToken);

    /// <summary>The PaymentIntent that made a charge.</summary>
    public Task<string?> ChargePaymentIntentAsync(string chargeId, CancellationToken cancellationToken) =>
        CallAsync("charges", token => new global::Stripe.ChargeService(client).GetAsync(chargeId, null, null, token), charge => (string?)charge.PaymentIntentId, cancellationToken);

    /// <summary>Whether the connected account exists and may receive transfers; null when Stripe knows no such account.</summary>
    public async Task<bool?> CanReceiveTransfersAsync(string account, CancellationToken cancellationToken)
    {
        try
        {
            return await CallAsync("accounts", token => new global::Stripe.AccountService(client).GetAsync(account, null, null, token),
                found => found.Capabilities?.Transfers == "active", cancellationToken);
        }
        catch (StripeException e) when (e.InnerException is global::Stripe.StripeException { HttpStatusCode: System.Net.HttpStatusCode.NotFound })
        {
            return null;
        }
    }

    /// <summary>
    /// A Connect transfer of <paramref name="cents"/> to <paramref name="account"/> under <paramref name="key"/> (its
    /// Idempotency-Key and transfer group): made once, however often it is asked for.
    /// </summary>
    public Task<global::Stripe.Transfer> TransferAsync(string key, string account, long cents, long payoutId, CancellationToken cancellationToken) =>
        CallAsync("transfers", token => new global::Stripe.TransferService(client).CreateAsync(new global::Stripe.TransferCreateOptions
        {
            Amount = cents,
            Currency = "usd",
            Destination = account,
            TransferGroup = key,
            Metadata = new Dictionary<string, string> { ["payout_id"] = payoutId.ToString(CultureInfo.InvariantCulture) },
        }, new global::Stripe.RequestOptions { IdempotencyKey = key }, token), transfer => transfer, cancellationToken);

    /// <summary>The transfer made under <paramref name="key"/> (its transfer group), if any: what a lost answer made.</summary>
    public Task<global::Stripe.Transfer?> FindTransferAsync(string key, CancellationToken cancellationToken) =>
        CallAsync("transfers", token => new global::Stripe.TransferService(client).ListAsync(new global::Stripe.TransferListOptions { TransferGroup = key, Limit = 1 }, null, token),
            list => list.Data.FirstOrDefault(), cancellationToken);

    public static CheckoutSession Session(global::Stripe.Checkout.Session session) => new(
        session.Id, session.Url, session.Status ?? "open", session.PaymentStatus ?? "unpaid", session.AmountTotal ?? 0, session.Currency ?? "usd",
        session.ClientReferenceId, session.Metadata?.GetValueOrDefault("deposit_id"), session.PaymentIntentId);

    public static ChargeReversal Refund(global::Stripe.Refund refund) =>
        new(refund.Id, refund.Amount, refund.Currency ?? "", refund.Status ?? "", refund.ChargeId, refund.PaymentIntentId);

    public static ChargeReversal Dispute(global::Stripe.Dispute dispute) =>
        new(dispute.Id, dispute.Amount, dispute.Currency ?? "", dispute.Status ?? "", dispute.ChargeId, dispute.PaymentIntentId);

    private async Task<TResult> CallAsync<TAnswer, TResult>(string resource, Func<CancellationToken, Task<TAnswer>> call, Func<TAnswer, TResult> read, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.TimeoutSeconds));
        try
        {
            return read(await call(timeout.Token));
        }
        catch (global::Stripe.StripeException e)
        {
            var status = (int)e.HttpStatusCode;
            throw new StripeException($"Stripe answered /{resource}… with HTTP {status}: {e.StripeError?.Message ?? e.Message}", transient: status is 429 or >= 500 or 0, e);
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new StripeException($"Stripe could not be reached for /{resource}…: {(e is OperationCanceledException ? "timed out" : e.GetType().Name)}.", transient: true, e);
        }
    }
}
