using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Adapters.X402;

/// <summary>
/// The x402 protocol over HTTP. Version 2: <c>PAYMENT-REQUIRED</c> on a 402, <c>PAYMENT-SIGNATURE</c> from the
/// client, <c>PAYMENT-RESPONSE</c> with the settlement, each base64 of UTF-8 JSON. Version 1 (what the reference
/// clients still speak to a v1 server): the requirements in the 402 body, <c>X-PAYMENT</c> and
/// <c>X-PAYMENT-RESPONSE</c>, network names instead of CAIP-2.
/// </summary>
public static class X402Protocol
{
    public const int Version = 2;
    public const string RequiredHeader = "PAYMENT-REQUIRED";
    public const string SignatureHeader = "PAYMENT-SIGNATURE";
    public const string ResponseHeader = "PAYMENT-RESPONSE";
    public const string V1SignatureHeader = "X-PAYMENT";
    public const string V1ResponseHeader = "X-PAYMENT-RESPONSE";

    /// <summary>Version 1 names of the networks x402 pays on (the reference packages' map), by chain id.</summary>
    private static readonly Dictionary<long, string> V1Networks = new()
    {
        [8453] = "base",
        [84532] = "base-sepolia",
        [137] = "polygon",
        [80002] = "polygon-amoy",
        [1] = "ethereum",
        [11155111] = "sepolia",
        [43114] = "avalanche",
        [43113] = "avalanche-fuji",
    };

    /// <summary>The version 1 name of the chain; null where version 1 has none (then only version 2 is offered).</summary>
    public static string? V1Network(long chainId) => V1Networks.GetValueOrDefault(chainId);

    /// <summary>Version 1 requirements for the same payment: amount as <c>maxAmountRequired</c>, the resource inside.</summary>
    public static JsonObject? RequirementsV1(X402Network options, int maxTimeoutSeconds, BigInteger amount, string resourceUrl, string description) =>
        V1Network(options.ChainId) is not { } network ? null : new JsonObject
        {
            ["scheme"] = "exact",
            ["network"] = network,
            ["maxAmountRequired"] = amount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["resource"] = resourceUrl,
            ["description"] = description,
            ["mimeType"] = "application/json",
            ["payTo"] = options.PayTo,
            ["maxTimeoutSeconds"] = maxTimeoutSeconds,
            ["asset"] = options.Asset,
            ["extra"] = new JsonObject { ["name"] = options.AssetName, ["version"] = options.AssetVersion },
        };

    public static string Encode(JsonNode value) => Convert.ToBase64String(Encoding.UTF8.GetBytes(value.ToJsonString()));

    /// <summary>The requirements of one payment in the "exact" scheme: <paramref name="amount"/> atomic units of the asset.</summary>
    public static JsonObject Requirements(X402Network options, int maxTimeoutSeconds, BigInteger amount) => new()
    {
        ["scheme"] = "exact",
        ["network"] = options.Network,
        ["amount"] = amount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["asset"] = options.Asset,
        ["payTo"] = options.PayTo,
        ["maxTimeoutSeconds"] = maxTimeoutSeconds,
        ["extra"] = new JsonObject { ["name"] = options.AssetName, ["version"] = options.AssetVersion },
    };

    public static JsonObject PaymentRequired(IEnumerable<JsonObject> accepts, string resourceUrl, string description, string? error) => new()
    {
        ["x402Version"] = Version,
        ["error"] = error ?? "PAYMENT-SIGNATURE header is required",
        ["resource"] = new JsonObject { ["url"] = resourceUrl, ["description"] = description, ["mimeType"] = "application/json" },
        ["accepts"] = new JsonArray([.. accepts.Select(r => r.DeepClone())]),
        ["extensions"] = new JsonObject(),
    };

    /// <summary>
    /// Decodes a <c>PAYMENT-SIGNATURE</c> (version 2) or <c>X-PAYMENT</c> (version 1) header; null with the reason for
    /// anything that is not an exact EVM payload of the version its header says.
    /// </summary>
    public static (PaymentPayload? Payload, string? Problem) Decode(string header, int version)
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
            if (json["x402Version"]?.GetValue<int>() != version)
            {
                return (null, version == Version
                    ? $"{SignatureHeader} carries x402 version 2 payloads"
                    : $"{V1SignatureHeader} carries x402 version 1 payloads");
            }
            // Version 1 names scheme and network at the top; version 2 repeats the whole requirements it accepted.
            var accepted = version == Version
                ? json["accepted"] as JsonObject
                : new JsonObject { ["scheme"] = json["scheme"]?.ToString(), ["network"] = json["network"]?.ToString() };
            var authorization = json["payload"]?["authorization"] as JsonObject;
            var signature = json["payload"]?["signature"]?.GetValue<string>();
            if (accepted is null || authorization is null || signature is null)
            {
                return (null, "the payload lacks accepted, payload.authorization or payload.signature");
            }
            var from = authorization["from"]?.GetValue<string>();
            var nonce = authorization["nonce"]?.GetValue<string>();
            var value = authorization["value"]?.GetValue<string>();
            var to = authorization["to"]?.GetValue<string>();
            const System.Globalization.NumberStyles digits = System.Globalization.NumberStyles.None;
            if (from is null || to is null || nonce is null || value is null
                || !long.TryParse(authorization["validBefore"]?.GetValue<string>(), digits, System.Globalization.CultureInfo.InvariantCulture, out var validBefore)
                || !long.TryParse(authorization["validAfter"]?.GetValue<string>() ?? "0", digits, System.Globalization.CultureInfo.InvariantCulture, out var validAfter))
            {
                return (null, "the authorization lacks from, to, value, validAfter, validBefore or nonce");
            }
            return (new PaymentPayload(json, version, accepted, from.ToLowerInvariant(), to.ToLowerInvariant(), nonce.ToLowerInvariant(), value, validAfter, validBefore), null);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            return (null, "a field of the payment has the wrong type");
        }
    }

    /// <summary>The least time left before <c>validBefore</c> that a settlement needs, as the reference facilitator requires.</summary>
    public const int MinimumSecondsLeft = 6;

    /// <summary>
    /// Checks the signed authorization itself against what we asked, before any facilitator is asked: paid to our
    /// <c>payTo</c>, exactly the amount, valid now and long enough to settle. (The client's echo of the requirements
    /// is checked by <see cref="Matches"/>; the signature, the asset's EIP-712 domain and the balance by the facilitator.)
    /// </summary>
    public static AuthorizationProblem? CheckAuthorization(PaymentPayload payment, JsonObject requirements, DateTimeOffset now)
    {
        var payTo = requirements["payTo"]?.ToString();
        var amount = (payment.Version == Version ? requirements["amount"] : requirements["maxAmountRequired"])?.ToString();
        var seconds = now.ToUnixTimeSeconds();
        if (!string.Equals(payment.To, payTo, StringComparison.OrdinalIgnoreCase))
        {
            return new("invalid_exact_evm_recipient_mismatch", $"The authorization pays {payment.To}, not {payTo}.");
        }
        if (payment.Value != amount)
        {
            return new("invalid_exact_evm_payload_authorization_value_mismatch", $"The authorization is for {payment.Value} units, not {amount}.");
        }
        if (payment.ValidAfter > seconds)
        {
            return new("invalid_exact_evm_payload_authorization_valid_after", "The authorization is not valid yet (validAfter is in the future).");
        }
        if (payment.ValidBefore < seconds + MinimumSecondsLeft)
        {
            return new("invalid_exact_evm_payload_authorization_valid_before", $"The authorization expires in less than {MinimumSecondsLeft} s: too late to settle.");
        }
        return null;
    }

    /// <summary>
    /// Whether the payment is for exactly these requirements: what is paid, in which asset, to whom, where. Version 2
    /// compares the requirements the client says it accepted; version 1 its scheme, network and authorization.
    /// </summary>
    public static bool Matches(PaymentPayload payment, JsonObject requirements)
    {
        static bool Same(string? a, string? b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
        return payment.Version == Version
            ? new[] { "scheme", "network", "amount", "asset", "payTo" }.All(field => Same(payment.Accepted[field]?.ToString(), requirements[field]?.ToString()))
            : Same(payment.Accepted["scheme"]?.ToString(), requirements["scheme"]?.ToString())
                && Same(payment.Accepted["network"]?.ToString(), requirements["network"]?.ToString())
                && Same(payment.To, requirements["payTo"]?.ToString())
                && payment.Value == requirements["maxAmountRequired"]?.ToString();
    }
}

/// <summary>Why a signed authorization cannot pay these requirements: the protocol's error and a sentence.</summary>
public sealed record AuthorizationProblem(string Error, string Message);

/// <param name="Json">The whole payload, as the facilitator gets it.</param>
/// <param name="Version">The x402 version of the payload, and of the facilitator calls that settle it.</param>
/// <param name="ValidAfter">The start of the authorization's validity, unix seconds (0 from version 2 clients).</param>
/// <param name="ValidBefore">The end of the authorization's validity, unix seconds: after it, it can never settle.</param>
public sealed record PaymentPayload(JsonObject Json, int Version, JsonObject Accepted, string Payer, string To, string Nonce, string Value, long ValidAfter, long ValidBefore);
