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

/// <summary>The CrawlerToll offer: what to pay, on which rail, and where.</summary>
public sealed record OfferView(string Rail, long PriceMicros, string Currency, string PaymentUrl, string Publisher, string Endpoint);

public sealed record CrawlerBalanceView(Micros CurrentBalance, Micros Shortfall);

public sealed record OnboardingView(string TopUpUrl, Micros MinimumTopUp, string Message);

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
    public CrawlerBalanceView? Crawler { get; init; }
    public OnboardingView? Onboarding { get; init; }
    /// <summary>For <c>budget_exceeded</c>: the budget the charge would pass, what remains of it and when it renews.</summary>
    public Guard.BudgetView? Budget { get; init; }
    /// <summary>For <c>approval_required</c>: the approval the owner decides with <c>POST /api/agent/approvals/{id}/approve|decline</c>.</summary>
    public string? ApprovalId { get; init; }

    /// <summary>Fields some clients read a rail's requirements from (x402 version 1: <c>x402Version</c>, <c>accepts</c>), last in the body.</summary>
    [System.Text.Json.Serialization.JsonExtensionData]
    public System.Text.Json.Nodes.JsonObject? PaymentFields { get; init; }
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
