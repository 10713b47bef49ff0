using Aisa.Settlement.Money;

namespace Aisa.Settlement.Api.Verify;

public sealed record VerifyRequest(
    string? PublisherDomain,
    string? ResourceUrl,
    bool? CrawlerAutoPrice,
    string? CrawlerExactPrice,
    string? CrawlerMaxPrice,
    string? CrawlerAgent,
    string? CrawlerToken);

public sealed record VerifyRuleView(long Id, string UrlPattern, string AccessMode, Micros Price);

public sealed record CrawlerIdentification(bool Recognized, string? Identifier);

public sealed record ChargeView(Micros Amount, string Currency, string BillingType, Micros CrawlerBalanceBefore, Micros CrawlerBalanceAfter);

public sealed record PriceView(Micros Amount, string Currency, string BillingType);

/// <summary>
/// The CrawlerToll offer: what to pay, on which rail, and where. In <c>offers</c> (every way this gateway takes, the
/// preferred first) each also says what kind of way it is and how to use its URL.
/// </summary>
public sealed record OfferView(string Rail, long PriceMicros, string Currency, string PaymentUrl, string Publisher, string Endpoint)
{
    /// <summary><see cref="OfferKinds"/>: pay from the wallet, fund the wallet on a rail, or pay this one request.</summary>
    public string? Kind { get; init; }

    /// <summary>The HTTP method of <see cref="PaymentUrl"/> (a top-up: POST with <see cref="Body"/>; deposit addresses: GET; a per-request rail: the resource asked again, paid).</summary>
    public string? Method { get; init; }

    public System.Text.Json.Nodes.JsonObject? Body { get; init; }

    /// <summary>A per-request rail's network (CAIP-2 for x402).</summary>
    public string? Network { get; init; }

    /// <summary>A per-request rail's <c>WWW-Authenticate</c> challenge, as the 402's header carries it (L402: the macaroon and the invoice).</summary>
    public string? Challenge { get; init; }

    public string? Instructions { get; init; }
}

public static class OfferKinds
{
    public const string Wallet = "wallet";
    public const string TopUp = "top-up";
    public const string PerRequest = "per-request";
}

public sealed record CrawlerBalanceView(Micros CurrentBalance, Micros Shortfall);

/// <param name="TopUpUrl">The API's top-up (POST with a session).</param>
/// <param name="SignUpUrl">The wallet's sign-up page, for a person opening a wallet for a crawler.</param>
/// <param name="WalletUrl">The wallet's page, where a person logs in and tops up.</param>
public sealed record OnboardingView(string TopUpUrl, Micros MinimumTopUp, string Message, string SignUpUrl, string WalletUrl);

/// <summary>Every verify answer: <c>accessGranted</c> and <c>statusCode</c> always, the rest as the decision table says.</summary>
public sealed record VerifyBody(bool AccessGranted, int StatusCode)
{
    public string? Error { get; init; }
    public string? Message { get; init; }
    public VerifyRuleView? Rule { get; init; }
    public CrawlerIdentification? CrawlerIdentification { get; init; }
    public ChargeView? Charge { get; init; }
    public PriceView? Price { get; init; }
    public OfferView? Offer { get; init; }
    /// <summary>Every way to pay for the resource here, the preferred first (the single <see cref="Offer"/> stays for existing clients).</summary>
    public IReadOnlyList<OfferView>? Offers { get; init; }
    public CrawlerBalanceView? Crawler { get; init; }
    public OnboardingView? Onboarding { get; init; }
    /// <summary>For <c>budget_exceeded</c>: the budget the charge would pass, what remains of it and when it renews.</summary>
    public Guard.BudgetView? Budget { get; init; }
    /// <summary>For <c>approval_required</c>: the approval the owner decides with <c>POST /api/agent/approvals/{id}/approve|decline</c>.</summary>
    public string? ApprovalId { get; init; }

    /// <summary>Fields some clients read a rail's requirements from (x402 version 1: <c>x402Version</c>, <c>accepts</c>), written last in the body by <see cref="ToJson"/>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public System.Text.Json.Nodes.JsonObject? PaymentFields { get; init; }

    /// <summary>
    /// The body as sent: the contract's fields, then <see cref="PaymentFields"/> at the top level. (As [JsonExtensionData]
    /// they were written as a nested object without a name — invalid JSON — measured on .NET 10.)
    /// </summary>
    public System.Text.Json.Nodes.JsonObject ToJson(System.Text.Json.JsonSerializerOptions options)
    {
        var json = System.Text.Json.JsonSerializer.SerializeToNode(this, options)!.AsObject();
        foreach (var (name, value) in PaymentFields ?? [])
        {
            json[name] = value?.DeepClone();
        }
        return json;
    }
}

/// <summary>The AISA and Cloudflare pay-per-crawl header names.</summary>
public static class CrawlerHeaders
{
    public const string Token = "X-AISA-Crawler-Token";
    public const string ExactPrice = "crawler-exact-price";
    public const string MaxPrice = "crawler-max-price";
    public const string Price = "Crawler-Price";
    public const string PriceRail = "Crawler-Price-Rail";
    public const string Charged = "Crawler-Charged";
    public const string WalletRail = "aisa-wallet";
}
