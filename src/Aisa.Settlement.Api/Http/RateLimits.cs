using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace Aisa.Settlement.Api.Http;

public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Registrations and logins per client address per minute.</summary>
    public int AuthPerMinute { get; set; } = 20;

    /// <summary>Top-ups started (Checkout Sessions, x402 top-ups) per caller per minute.</summary>
    public int TopUpsPerMinute { get; set; } = 30;

    public IEnumerable<string> Validate()
    {
        if (AuthPerMinute is < 1 or > 1_000_000)
        {
            yield return $"RateLimits:AuthPerMinute must be between 1 and 1000000, not {AuthPerMinute}.";
        }
        if (TopUpsPerMinute is < 1 or > 1_000_000)
        {
            yield return $"RateLimits:TopUpsPerMinute must be between 1 and 1000000, not {TopUpsPerMinute}.";
        }
    }
}

/// <summary>The framework's rate limiter on registration and login, per client address (429 + Retry-After).</summary>
public static class RateLimits
{
    public const string AuthPolicy = "auth";

    public const string TopUpPolicy = "top-ups";

    public static IServiceCollection AddSettlementRateLimits(this IServiceCollection services, RateLimitOptions options)
    {
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(AuthPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = options.AuthPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            // Per caller: the session or crawler token it sends (hashed: the partition key is kept in memory), else its address.
            limiter.AddPolicy(TopUpPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                CallerKey(context),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = options.TopUpsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? (int)Math.Ceiling(wait.TotalSeconds) : 60;
                context.HttpContext.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.HttpContext.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
                await context.HttpContext.Response.WriteAsJsonAsync(
                    new ApiError("rate_limited", $"Too many attempts; retry in {retryAfter} s."), ApiJson.Options, cancellationToken);
            };
        });
        return services;
    }

    private static string CallerKey(HttpContext context)
    {
        var credential = context.Request.Headers.Authorization.ToString() is { Length: > 0 } session ? session : context.Request.Headers["X-AISA-Crawler-Token"].ToString();
        return credential.Length > 0
            ? "caller:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(credential)))
            : "address:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }
}
