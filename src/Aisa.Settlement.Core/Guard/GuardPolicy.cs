using System.Text.Json.Serialization;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Guard;

/// <summary>
/// What a crawler's owner allows it to spend, and where. Every field is optional: null (or an empty list) is no limit,
/// and the empty policy changes nothing. Domains are lower case; a listed domain covers its subdomains.
/// </summary>
public sealed record GuardPolicy(
    Micros? MaxPricePerRequest = null,
    Micros? DailyBudget = null,
    Micros? MonthlyBudget = null,
    IReadOnlyList<string>? PublisherAllowlist = null,
    IReadOnlyList<string>? PublisherDenylist = null,
    int? RequestsPerMinute = null,
    Micros? ApprovalAbove = null,
    bool RequireSignedRequests = false)
{
    public const int MaxListedDomains = 1_000;
    public const int MaxRequestsPerMinute = 1_000_000;
    public static readonly Micros MaxAmount = Micros.FromUsd(1_000_000m);

    public static readonly GuardPolicy None = new();

    [JsonIgnore]
    public bool IsEmpty => this == None || (MaxPricePerRequest is null && DailyBudget is null && MonthlyBudget is null && (PublisherAllowlist?.Count ?? 0) == 0
        && (PublisherDenylist?.Count ?? 0) == 0 && RequestsPerMinute is null && ApprovalAbove is null && !RequireSignedRequests);

    [JsonIgnore]
    public bool HasBudget => DailyBudget is not null || MonthlyBudget is not null;

    /// <summary>Whether the crawler may pay this publisher: not denied, and allowed when an allow-list is set.</summary>
    public bool Allows(string publisherDomain)
    {
        var domain = publisherDomain.ToLowerInvariant();
        if (PublisherDenylist?.Any(listed => Covers(listed, domain)) == true)
        {
            return false;
        }
        return PublisherAllowlist is not { Count: > 0 } allowed || allowed.Any(listed => Covers(listed, domain));
    }

    private static bool Covers(string listed, string domain) =>
        domain == listed || domain.EndsWith("." + listed, StringComparison.Ordinal);
}
