using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Adapters.X402;

/// <summary>
/// The x402 protocol, version 2, over HTTP: <c>PAYMENT-REQUIRED</c> on a 402, <c>PAYMENT-SIGNATURE</c> from the client,
/// <c>PAYMENT-RESPONSE</c> with the settlement; each header is base64 of UTF-8 JSON.
/// </summary>
public static class X402Protocol
{
    public const int Version = 2;
    public const string RequiredHeader = "PAYMENT-REQUIRED";
    public const string SignatureHeader = "PAYMENT-SIGNATURE";
    public const string ResponseHeader = "PAYMENT-RESPONSE";

    public static string Encode(JsonNode value) => Convert.ToBase64String(Encoding.UTF8.GetBytes(value.ToJsonString()));

    /// <summary>The requirements of one payment in the "exact" scheme: <paramref name="amount"/> atomic units of the asset.</summary>
    public static JsonObject Requirements(X402Options options, BigInteger amount) => new()
    {
        ["scheme"] = "exact",
        ["network"] = options.Network,
        ["amount"] = amount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["asset"] = options.Asset,
        ["payTo"] = options.PayTo,
        ["maxTimeoutSeconds"] = options.MaxTimeoutSeconds,
        ["extra"] = new JsonObject { ["name"] = options.AssetName, ["version"] = options.AssetVersion },
    };

    public static JsonObject PaymentRequired(JsonObject requirements, string resourceUrl, string description, string? error) => new()
    {
        ["x402Version"] = Version,
        ["error"] = error ?? "PAYMENT-SIGNATURE header is required",
        ["resource"] = new JsonObject { ["url"] = resourceUrl, ["description"] = description, ["mimeType"] = "application/json" },
        ["accepts"] = new JsonArray(requirements.DeepClone()),
        ["extensions"] = new JsonObject(),
    };

    /// <summary>Decodes a <c>PAYMENT-SIGNATURE</c> header; null with the reason for anything that is not a v2 exact EVM payload.</summary>
    public static (PaymentPayload? Payload, string? Problem) Decode(string header)
    {
        JsonObject? json;
        try
        {
            json = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(header.Trim()))) as JsonObject;
        }
        catch (Exception e) when (e is FormatException or JsonException or DecoderFallbackException)
        {
            return (null, "the payment header is not base64 JSON");
        }
        if (json is null)
        {
            return (null, "the payment header is not a JSON object");
        }
        try
        {
            if (json["x402Version"]?.GetValue<int>() != Version)
            {
                return (null, "only x402 version 2 is accepted");
            }
            var accepted = json["accepted"] as JsonObject;
            var authorization = json["payload"]?["authorization"] as JsonObject;
            var signature = json["payload"]?["signature"]?.GetValue<string>();
            if (accepted is null || authorization is null || signature is null)
            {
                return (null, "the payload lacks accepted, payload.authorization or payload.signature");
            }
            var from = authorization["from"]?.GetValue<string>();
            var nonce = authorization["nonce"]?.GetValue<string>();
            var value = authorization["value"]?.GetValue<string>();
            if (from is null || nonce is null || value is null
                || !long.TryParse(authorization["validBefore"]?.GetValue<string>(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var validBefore))
            {
                return (null, "the authorization lacks from, value, validBefore or nonce");
            }
            return (new PaymentPayload(json, accepted, from.ToLowerInvariant(), nonce.ToLowerInvariant(), value, validBefore), null);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            return (null, "a field of the payment has the wrong type");
        }
    }

    /// <summary>Whether the client accepted exactly these requirements (the fields that decide what is paid, to whom, where).</summary>
    public static bool Matches(JsonObject accepted, JsonObject requirements) =>
        new[] { "scheme", "network", "amount", "asset", "payTo" }.All(field =>
            string.Equals(accepted[field]?.ToString(), requirements[field]?.ToString(), StringComparison.OrdinalIgnoreCase));
}

/// <param name="Json">The whole payload, as the facilitator gets it.</param>
/// <param name="ValidBefore">The end of the authorization's validity, unix seconds: after it, it can never settle.</param>
public sealed record PaymentPayload(JsonObject Json, JsonObject Accepted, string Payer, string Nonce, string Value, long ValidBefore);
