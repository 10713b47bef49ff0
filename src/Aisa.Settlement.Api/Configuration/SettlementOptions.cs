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
    }
}

public sealed class OperatorOptions
{
    public const string Section = "Operator";
    public const int MinimumKeyLength = 16;

    /// <summary>The key operators send as X-AISA-Operator-Key. Without one the operator API is disabled.</summary>
    public string? ApiKey { get; set; }

    public IEnumerable<string> Validate()
    {
        if (ApiKey is not null && ApiKey.Trim().Length < MinimumKeyLength)
        {
            yield return $"Operator:ApiKey must be at least {MinimumKeyLength} characters (or absent to disable the operator API).";
        }
    }
}
