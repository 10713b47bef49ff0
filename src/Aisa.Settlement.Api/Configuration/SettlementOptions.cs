using Aisa.Settlement.Money;

namespace Aisa.Settlement.Api.Configuration;

public sealed class PlatformOptions
{
    public const string Section = "Platform";

    /// <summary>The platform's share of every charge, in basis points (0–10000).</summary>
    public int RevenueShareBps { get; set; } = 1000;

    /// <summary>The smallest top-up in USD (Stripe's minimum charge is 0.50).</summary>
    public decimal MinTopUp { get; set; } = 0.50m;

    public Micros MinTopUpMicros => Micros.FromUsd(MinTopUp);

    /// <summary>The base of every URL the service hands out (<c>https://pay.example.com</c>); unset, the request's own.</summary>
    public string? PublicUrl { get; set; }

    public IEnumerable<string> Validate()
    {
        if (RevenueShareBps is < 0 or > 10_000)
        {
            yield return $"Platform:RevenueShareBps must be between 0 and 10000 basis points, not {RevenueShareBps}.";
        }
        if (MinTopUp <= 0 || !Micros.TryFromUsd(MinTopUp, out _))
        {
            yield return $"Platform:MinTopUp must be a positive USD amount with at most six decimals, not {MinTopUp}.";
        }
        if (PublicUrl is not null && (!Uri.TryCreate(PublicUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")
            || url.Query.Length > 0 || url.Fragment.Length > 0 || url.UserInfo.Length > 0))
        {
            yield return "Platform:PublicUrl must be the service's absolute http(s) base URL, without query, fragment or credentials (https://pay.example.com).";
        }
    }
}

public sealed class OperatorOptions
{
    public const string Section = "Operator";
    public const int MinimumKeyLength = 16;

    /// <summary>How the example settings spell a value to replace; such a key is refused.</summary>
    public const string PlaceholderPrefix = "replace-with";

    /// <summary>The key operators send as X-AISA-Operator-Key. Without one the operator API is disabled.</summary>
    public string? ApiKey { get; set; }

    public IEnumerable<string> Validate()
    {
        if (ApiKey is not null && ApiKey.Trim().Length < MinimumKeyLength)
        {
            yield return $"Operator:ApiKey must be at least {MinimumKeyLength} characters (or absent to disable the operator API).";
        }
        else if (ApiKey is not null && ApiKey.Trim().StartsWith(PlaceholderPrefix, StringComparison.OrdinalIgnoreCase))
        {
            // The example file's value: anyone who read it would hold the operator's key.
            yield return $"Operator:ApiKey is the example's placeholder: set a long random key of your own (e.g. openssl rand -hex 32).";
        }
    }
}
