using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

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
    string? PaymentIntent,
    JsonObject Json)
{
    public bool Paid => PaymentStatus == "paid";

    public static CheckoutSession Parse(JsonObject json) => new(
        json["id"]!.GetValue<string>(),
        json["url"]?.GetValue<string>(),
        json["status"]?.GetValue<string>() ?? "open",
        json["payment_status"]?.GetValue<string>() ?? "unpaid",
        json["amount_total"]?.GetValue<long>() ?? 0,
        json["currency"]?.GetValue<string>() ?? "usd",
        json["client_reference_id"]?.GetValue<string>(),
        json["metadata"]?["deposit_id"]?.GetValue<string>(),
        json["payment_intent"]?.ToString(),
        json);
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

    public static ChargeReversal Parse(JsonObject json) => new(
        json["id"]!.GetValue<string>(),
        json["amount"]?.GetValue<long>() ?? 0,
        json["currency"]?.GetValue<string>() ?? "",
        json["status"]?.GetValue<string>() ?? "",
        json["charge"]?.ToString(),
        json["payment_intent"]?.ToString());
}

/// <summary>Stripe's REST API over HttpClient: form-encoded bodies, an Idempotency-Key on every POST, the API version pinned.</summary>
public sealed class StripeClient(HttpClient http, StripeOptions options)
{
    /// <summary>A Checkout Session for a one-off USD amount; the deposit id rides along in client_reference_id and metadata.</summary>
    public async Task<CheckoutSession> CreateCheckoutSessionAsync(long amountCents, long depositId, long agentId, CancellationToken cancellationToken)
    {
        var deposit = depositId.ToString(CultureInfo.InvariantCulture);
        var form = new Dictionary<string, string>
        {
            ["mode"] = "payment",
            ["line_items[0][price_data][currency]"] = "usd",
            ["line_items[0][price_data][unit_amount]"] = amountCents.ToString(CultureInfo.InvariantCulture),
            ["line_items[0][price_data][product_data][name]"] = "AISA wallet top-up",
            ["line_items[0][quantity]"] = "1",
            ["success_url"] = options.SuccessUrl!,
            ["cancel_url"] = options.CancelUrl!,
            ["client_reference_id"] = deposit,
            ["metadata[deposit_id]"] = deposit,
            ["metadata[agent_id]"] = agentId.ToString(CultureInfo.InvariantCulture),
            ["payment_intent_data[metadata][deposit_id]"] = deposit,
        };
        // One key per deposit: a retry after a lost answer gets the same session back, never a second one.
        return CheckoutSession.Parse(await SendAsync(HttpMethod.Post, "v1/checkout/sessions", form, $"aisa-topup-{deposit}", cancellationToken));
    }

    public async Task<CheckoutSession> GetCheckoutSessionAsync(string id, CancellationToken cancellationToken) =>
        CheckoutSession.Parse(await SendAsync(HttpMethod.Get, $"v1/checkout/sessions/{Uri.EscapeDataString(id)}", null, null, cancellationToken));

    /// <summary>The Checkout Session that the PaymentIntent paid, if any.</summary>
    public async Task<CheckoutSession?> FindCheckoutSessionAsync(string paymentIntent, CancellationToken cancellationToken)
    {
        var list = await SendAsync(HttpMethod.Get, $"v1/checkout/sessions?payment_intent={Uri.EscapeDataString(paymentIntent)}&limit=1", null, null, cancellationToken);
        return list["data"] is JsonArray { Count: > 0 } data ? CheckoutSession.Parse(data[0]!.AsObject()) : null;
    }

    /// <summary>Every refund of a charge (a charge has at most a handful: one page of 100).</summary>
    public async Task<IReadOnlyList<ChargeReversal>> ListRefundsAsync(string chargeId, CancellationToken cancellationToken)
    {
        var list = await SendAsync(HttpMethod.Get, $"v1/refunds?charge={Uri.EscapeDataString(chargeId)}&limit=100", null, null, cancellationToken);
        return list["data"] is JsonArray data ? data.Select(r => ChargeReversal.Parse(r!.AsObject())).ToList() : [];
    }

    /// <summary>The PaymentIntent that made a charge.</summary>
    public async Task<string?> ChargePaymentIntentAsync(string chargeId, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Get, $"v1/charges/{Uri.EscapeDataString(chargeId)}", null, null, cancellationToken))["payment_intent"]?.ToString();

    // The kind of object asked for ("checkout", "refunds"), never its id or query: enough to say what failed.
    private static string Resource(string path) => path.Split('/')[1].Split('?')[0];

    private async Task<JsonObject> SendAsync(HttpMethod method, string path, Dictionary<string, string>? form, string? idempotencyKey, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(new Uri(options.ApiBaseUrl.TrimEnd('/') + "/"), path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.SecretKey);
        request.Headers.Add("Stripe-Version", StripeOptions.ApiVersion);
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }
        if (form is not null)
        {
            request.Content = new FormUrlEncodedContent(form);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.TimeoutSeconds));
        try
        {
            using var response = await http.SendAsync(request, timeout.Token);
            var body = await response.Content.ReadFromJsonAsync<JsonObject>(timeout.Token);
            if (response.IsSuccessStatusCode && body is not null)
            {
                return body;
            }
            var error = body?["error"]?["message"]?.GetValue<string>() ?? "no error message";
            var status = (int)response.StatusCode;
            throw new StripeException($"Stripe answered {method} /{Resource(path)}… with HTTP {status}: {error}", transient: status is 429 or >= 500);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new StripeException($"Stripe could not be reached for {method} /{Resource(path)}…: {(e is TaskCanceledException ? "timed out" : e.GetType().Name)}.", transient: true, e);
        }
    }
}
