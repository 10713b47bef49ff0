using System.Text.Json.Nodes;
using Aisa.Settlement.Rails;

namespace Aisa.Settlement.Adapters.X402;

/// <summary>One payment's requirements on each accepted network (the first preferred), in both protocol versions.</summary>
/// <param name="acceptsV1">Version 1's, for the networks that have a version 1 name.</param>
public sealed class X402Offer(IReadOnlyList<JsonObject> accepts, IReadOnlyList<JsonObject> acceptsV1, string resourceUrl, string description) : PaymentOffer
{
    public IReadOnlyList<JsonObject> Accepts => accepts;

    public IReadOnlyList<JsonObject> AcceptsV1 => acceptsV1;

    public string ResourceUrl => resourceUrl;

    public string Description => description;

    public override IReadOnlyList<string> Networks => [.. accepts.Select(r => r["network"]!.GetValue<string>())];

    public override IReadOnlyDictionary<string, string> RequiredHeaders(string? error) =>
        new Dictionary<string, string> { [X402Protocol.RequiredHeader] = RequiredHeader(error) };

    /// <summary>What a version 1 client reads from a 402 body: <c>x402Version</c> and <c>accepts</c> (none where no network has a version 1 name).</summary>
    public override JsonObject BodyFields => acceptsV1.Count > 0
        ? new JsonObject { ["x402Version"] = 1, ["accepts"] = new JsonArray([.. acceptsV1.Select(r => r.DeepClone())]) }
        : [];

    /// <summary>The version 2 <c>PAYMENT-REQUIRED</c> header's value.</summary>
    public string RequiredHeader(string? error) => X402Protocol.Encode(X402Protocol.PaymentRequired(accepts, ResourceUrl, Description, error));
}
