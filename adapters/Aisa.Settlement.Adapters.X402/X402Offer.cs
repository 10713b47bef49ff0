using System.Text.Json.Nodes;
using Aisa.Settlement.Rails;

namespace Aisa.Settlement.Adapters.X402;

/// <summary>One payment's requirements in both protocol versions.</summary>
public sealed class X402Offer(JsonObject requirements, JsonObject? requirementsV1, string resourceUrl, string description) : PaymentOffer
{
    public JsonObject Requirements => requirements;

    public JsonObject? RequirementsV1 => requirementsV1;

    public string ResourceUrl => resourceUrl;

    public string Description => description;

    public override string? Network => requirements["network"]?.GetValue<string>();

    public override IReadOnlyDictionary<string, string> RequiredHeaders(string? error) =>
        new Dictionary<string, string> { [X402Protocol.RequiredHeader] = RequiredHeader(error) };

    /// <summary>What a version 1 client reads from a 402 body: <c>x402Version</c> and <c>accepts</c> (none where the network has no version 1 name).</summary>
    public override JsonObject BodyFields => AcceptsV1 is { } accepts ? new JsonObject { ["x402Version"] = 1, ["accepts"] = accepts } : [];

    /// <summary>The version 2 <c>PAYMENT-REQUIRED</c> header's value.</summary>
    public string RequiredHeader(string? error) => X402Protocol.Encode(X402Protocol.PaymentRequired(Requirements, ResourceUrl, Description, error));

    /// <summary>Fields of the 402 body a version 1 client reads: <c>x402Version</c> and <c>accepts</c>.</summary>
    public JsonArray? AcceptsV1 => RequirementsV1 is null ? null : new JsonArray(RequirementsV1.DeepClone());
}
