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
            throw new StripeException($"Stripe answered {method} /{path.Split('/')[1]}… with HTTP {status}: {error}", transient: status is 429 or >= 500);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new StripeException($"Stripe could not be reached for {method} /{path.Split('/')[1]}…: {(e is TaskCanceledException ? "timed out" : e.GetType().Name)}.", transient: true, e);
        }
    }
}
