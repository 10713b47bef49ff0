using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace Aisa.Settlement.Api.Http;

public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Registrations and logins per client address per minute.</summary>
    public int AuthPerMinute { get; set; } = 20;

    public IEnumerable<string> Validate()
    {
        if (AuthPerMinute is < 1 or > 1_000_000)
        {
            yield return $"RateLimits:AuthPerMinute must be between 1 and 1000000, not {AuthPerMinute}.";
        }
    }
}

/// <summary>The framework's rate limiter on registration and login, per client address (429 + Retry-After).</summary>
public static class RateLimits
{
    public const string AuthPolicy = "auth";

    public static IServiceCollection AddSettlementRateLimits(this IServiceCollection services, RateLimitOptions options)
    {
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(AuthPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = options.AuthPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? (int)Math.Ceiling(wait.TotalSeconds) : 60;
                context.HttpContext.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.HttpContext.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
                await context.HttpContext.Response.WriteAsJsonAsync(
                    new ApiError("rate_limited", $"Too many attempts from this address; retry in {retryAfter} s."), ApiJson.Options, cancellationToken);
            };
        });
        return services;
    }
}
