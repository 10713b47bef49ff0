using Aisa.Settlement.Money;

namespace Aisa.Settlement.Pricing;

public enum AccessMode
{
    Pay,
    Free,
    Block,
}

public enum BillingType
{
    /// <summary>Every call is charged.</summary>
    PerRequest,
    /// <summary>Once per crawler and resource URL (path with query).</summary>
    OneTime,
    /// <summary>Once per crawler and rule per rolling hour.</summary>
    TimePassHour,
}

public static class PricingNames
{
    public static string ToWire(this AccessMode mode) => mode switch
    {
        AccessMode.Pay => "pay",
        AccessMode.Free => "free",
        _ => "block",
    };

    public static string ToWire(this BillingType type) => type switch
    {
        BillingType.PerRequest => "per-request",
        BillingType.OneTime => "one-time",
        _ => "time-pass-hour",
    };

    public static bool TryParseAccessMode(string? text, out AccessMode mode)
    {
        (var ok, mode) = text switch
        {
            "pay" => (true, AccessMode.Pay),
            "free" => (true, AccessMode.Free),
            "block" => (true, AccessMode.Block),
            _ => (false, AccessMode.Pay),
        };
        return ok;
    }

    public static bool TryParseBillingType(string? text, out BillingType type)
    {
        (var ok, type) = text switch
        {
            "per-request" => (true, BillingType.PerRequest),
            "one-time" => (true, BillingType.OneTime),
            "time-pass-hour" => (true, BillingType.TimePassHour),
            _ => (false, BillingType.PerRequest),
        };
        return ok;
    }
}

public sealed record PricingRule(
    long Id,
    long PublisherId,
    string UrlPattern,
    AccessMode AccessMode,
    Micros Price,
    BillingType BillingType,
    string? CrawlerType,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public const int MaxPatternLength = 512;

    /// <summary>The most a rule may charge for one request: a guard against a typo costing a crawler its wallet.</summary>
    public static readonly Micros MaxPrice = Micros.FromUsd(1_000m);

    /// <summary>Non-<c>*</c> characters: the more a pattern spells out, the more specific it is.</summary>
    public int LiteralLength => UrlPattern.Count(c => c != '*');

    /// <summary>
    /// A path-prefix match where <c>*</c> matches any characters, <c>/</c> included: <c>/article/</c> matches
    /// <c>/article/1</c>, <c>/docs/*/print</c> matches <c>/docs/a/b/print</c> and <c>/docs/a/print/x</c>.
    /// </summary>
    public bool Matches(string path)
    {
        var segments = UrlPattern.Split('*');
        if (!path.StartsWith(segments[0], StringComparison.Ordinal))
        {
            return false;
        }
        var position = segments[0].Length;
        for (var i = 1; i < segments.Length; i++)
        {
            if (segments[i].Length == 0)
            {
                continue;
            }
            var found = path.IndexOf(segments[i], position, StringComparison.Ordinal);
            if (found < 0)
            {
                return false;
            }
            position = found + segments[i].Length;
        }
        return true;
    }

    public bool AppliesTo(string? registeredCrawlerType) =>
        CrawlerType is null || string.Equals(CrawlerType, registeredCrawlerType, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The rule that applies to a path: most literal characters first; on a tie a rule for the crawler's
    /// registered type beats one for all types; then the newest.
    /// </summary>
    public static PricingRule? Select(IEnumerable<PricingRule> rules, string path, string? registeredCrawlerType) =>
        rules.Where(rule => rule.AppliesTo(registeredCrawlerType) && rule.Matches(path))
            .OrderByDescending(rule => rule.LiteralLength)
            .ThenByDescending(rule => rule.CrawlerType is not null)
            .ThenByDescending(rule => rule.CreatedAt)
            .ThenByDescending(rule => rule.Id)
            .FirstOrDefault();

    /// <summary>Why a pattern cannot be a rule, or null when it can.</summary>
    public static string? ValidatePattern(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            return "urlPattern is required.";
        }
        if (pattern.Length > MaxPatternLength)
        {
            return $"urlPattern is at most {MaxPatternLength} characters.";
        }
        if (pattern[0] != '/' && pattern[0] != '*')
        {
            return "urlPattern is a path: it starts with '/' (or '*').";
        }
        if (!UriCharacters.AreValid(pattern))
        {
            return "urlPattern is a URL path: spaces, quotes, angle brackets and other characters outside RFC 3986 are percent-encoded.";
        }
        if (pattern.Contains('?', StringComparison.Ordinal) || pattern.Contains('#', StringComparison.Ordinal))
        {
            return "urlPattern is a path: rules match the path, never the query or a fragment.";
        }
        return ResourcePath.TryNormalizePath(pattern, out _, out var problem) ? null : problem!.Replace("resourceUrl", "urlPattern", StringComparison.Ordinal);
    }

    /// <summary>A valid pattern as it matches: normalised as every resource path is, so both are spelt alike.</summary>
    public static string NormalizePattern(string pattern) =>
        ResourcePath.TryNormalizePath(pattern, out var normalized, out _) ? normalized : pattern;
}
