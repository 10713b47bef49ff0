using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Adapters.X402;

/// <summary>The facilitator could not be asked, or answered something that is not the protocol's.</summary>
public sealed class FacilitatorUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

public sealed record VerifyResult(bool IsValid, string? InvalidReason, string? Payer);

public sealed record SettleResult(bool Success, string? ErrorReason, string? Transaction, string? Network, string? Payer, JsonObject Json);

/// <summary>The x402 facilitator API: <c>POST /verify</c> and <c>POST /settle</c> with <c>{x402Version, paymentPayload, paymentRequirements}</c>.</summary>
public sealed class FacilitatorClient(HttpClient http, X402Options options)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(int, string), bool> _supported = new();

    /// <summary>
    /// Whether the facilitator's <c>GET /supported</c> lists the "exact" scheme of this protocol version on this network
    /// (CAIP-2 for version 2, a name for version 1). Asked until it says yes once; a facilitator that cannot be
    /// asked throws <see cref="FacilitatorUnavailableException"/>.
    /// </summary>
    public async Task<bool> SupportsAsync(int version, string network, CancellationToken cancellationToken)
    {
        if (_supported.ContainsKey((version, network)))
        {
            return true;
        }
        var url = new Uri(new Uri(options.FacilitatorUrl!.TrimEnd('/') + "/"), "supported");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.FacilitatorTimeoutSeconds));
        JsonObject? answer;
        try
        {
            using var response = await http.GetAsync(url, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new FacilitatorUnavailableException($"The facilitator at {url.Host} answered /supported with HTTP {(int)response.StatusCode}.");
            }
            answer = await response.Content.ReadFromJsonAsync<JsonObject>(timeout.Token);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new FacilitatorUnavailableException($"The facilitator at {url.Host} could not be asked /supported: {(e is TaskCanceledException ? "timed out" : e.GetType().Name)}.", e);
        }
        var supported = answer?["kinds"] is JsonArray kinds && kinds.Any(kind =>
            kind?["scheme"]?.ToString() == "exact" && kind["network"]?.ToString() == network
            && kind["x402Version"]?.ToString() == version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (supported)
        {
            _supported[(version, network)] = true;
        }
        return supported;
    }

    public async Task<VerifyResult> VerifyAsync(PaymentPayload payment, JsonObject requirements, CancellationToken cancellationToken)
    {
        var answer = await PostAsync("verify", payment, requirements, cancellationToken);
        return answer["isValid"] is JsonValue valid && valid.TryGetValue<bool>(out var isValid)
            ? new VerifyResult(isValid, answer["invalidReason"]?.ToString(), answer["payer"]?.ToString())
            : throw new FacilitatorUnavailableException("The facilitator's /verify answer has no isValid.");
    }

    public async Task<SettleResult> SettleAsync(PaymentPayload payment, JsonObject requirements, CancellationToken cancellationToken)
    {
        var answer = await PostAsync("settle", payment, requirements, cancellationToken);
        return answer["success"] is JsonValue success && success.TryGetValue<bool>(out var succeeded)
            ? new SettleResult(succeeded, answer["errorReason"]?.ToString(), answer["transaction"]?.ToString(), answer["network"]?.ToString(), answer["payer"]?.ToString(), answer)
            : throw new FacilitatorUnavailableException("The facilitator's /settle answer has no success.");
    }

    private async Task<JsonObject> PostAsync(string path, PaymentPayload payment, JsonObject requirements, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["x402Version"] = payment.Version,
            ["paymentPayload"] = payment.Json.DeepClone(),
            ["paymentRequirements"] = requirements.DeepClone(),
        };
        var url = new Uri(new Uri(options.FacilitatorUrl!.TrimEnd('/') + "/"), path);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.FacilitatorTimeoutSeconds));
        try
        {
            using var response = await http.PostAsJsonAsync(url, body, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new FacilitatorUnavailableException($"The facilitator at {url.Host} answered /{path} with HTTP {(int)response.StatusCode}.");
            }
            return await response.Content.ReadFromJsonAsync<JsonObject>(timeout.Token)
                ?? throw new FacilitatorUnavailableException($"The facilitator at {url.Host} answered /{path} with null.");
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new FacilitatorUnavailableException($"The facilitator at {url.Host} could not be asked /{path}: {(e is TaskCanceledException ? "timed out" : e.GetType().Name)}.", e);
        }
    }
}
