using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aisa.Settlement.Client;

// The gateway's answers as the client reads them (amounts in US dollars). Fields the client does not name stay in the
// answer's JSON, which each result keeps.

public sealed record Crawler(long Id, string Email, string? Name, string? CrawlerType, string? CrawlerToken, string Balance, string TotalSpent);

public sealed record AgentSession(string Token, Crawler Crawler);

public sealed record PublisherAccount(long Id, string Email, string? Name, string Domain, bool DomainVerified);

public sealed record PublisherSession(string Token, PublisherAccount Publisher);

/// <summary>A top-up's answer: the rail's own instructions are in <see cref="Instructions"/> (an invoice, a checkout URL, an address...).</summary>
public sealed record TopUp(string Rail, long? DepositId, decimal Amount, string? State, string? Message)
{
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Instructions { get; init; }
}

public sealed record Deposit(long Id, string Rail, string State, decimal? Amount, decimal? RequestedAmount, string? Reference, int Confirmations, int ConfirmationsRequired);

public sealed record Rule(long Id, string UrlPattern, string AccessMode, decimal Price, string Currency, string BillingType, string? CrawlerType);

public sealed record NewRule(string UrlPattern, string AccessMode, decimal? Price = null, string? BillingType = null, string? CrawlerType = null);

public sealed record Earnings(decimal Balance, decimal GrossCharges, decimal PlatformFees, decimal Available, decimal InFlight, decimal Paid);

public sealed record PayoutSettings(string Rail, string Destination, decimal MinimumAmount);

public sealed record Payout(long Id, string State, decimal Amount, string Rail, string Destination, string? Reference);

/// <summary>The crawler's spending policy: a field left null is no limit.</summary>
public sealed record GuardPolicy
{
    public decimal? MaxPricePerRequest { get; init; }
    public decimal? DailyBudget { get; init; }
    public decimal? MonthlyBudget { get; init; }
    public IReadOnlyList<string>? PublisherAllowlist { get; init; }
    public IReadOnlyList<string>? PublisherDenylist { get; init; }
    public int? RequestsPerMinute { get; init; }
    public decimal? ApprovalAbove { get; init; }
    public bool RequireSignedRequests { get; init; }
}

/// <summary>How much the crawler accepts to pay for a resource: the publisher's price, exactly a price, or at most one.</summary>
public abstract record PriceIntent
{
    public static PriceIntent Auto { get; } = new AutoPrice();

    public static PriceIntent Exactly(decimal usd) => new ExactPrice(usd);

    public static PriceIntent AtMost(decimal usd) => new MaxPrice(usd);

    internal sealed record AutoPrice : PriceIntent;

    internal sealed record ExactPrice(decimal Usd) : PriceIntent;

    internal sealed record MaxPrice(decimal Usd) : PriceIntent;
}

public sealed record Charge(decimal Amount, string Currency, string BillingType, decimal CrawlerBalanceBefore, decimal CrawlerBalanceAfter);

public sealed record Price(decimal Amount, string Currency, string BillingType);

public sealed record Offer(string Rail, string? Kind, string PaymentUrl, string? Method, JsonElement? Body, string? Network, string? Challenge, string? Instructions);

public sealed record CrawlerBalance(decimal CurrentBalance, decimal Shortfall);

/// <summary>Where a person opens or tops up the crawler's wallet: the API's top-up, the wallet's sign-up page and its wallet page.</summary>
public sealed record Onboarding(string TopUpUrl, decimal MinimumTopUp, string Message, string? SignUpUrl = null, string? WalletUrl = null);

/// <summary>
/// What verify decided: granted (with the charge, if any), or refused with the contract's <see cref="Error"/> and every way
/// to pay in <see cref="Offers"/>.
/// </summary>
public sealed record VerifyOutcome(bool AccessGranted, int StatusCode)
{
    public string? Error { get; init; }
    public string? Message { get; init; }
    public Charge? Charge { get; init; }
    public Price? Price { get; init; }
    public IReadOnlyList<Offer>? Offers { get; init; }
    public CrawlerBalance? Crawler { get; init; }
    public Onboarding? Onboarding { get; init; }
    public string? ApprovalId { get; init; }
}
