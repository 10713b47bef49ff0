using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aisa.Settlement.Paywall;

public sealed class PaywallOptions
{
    /// <summary>The Aisa.Settlement gateway, e.g. https://pay.example.com/.</summary>
    public required Uri GatewayUrl { get; init; }

    /// <summary>The domain this site is registered under at the gateway.</summary>
    public required string PublisherDomain { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// HTTP 402 in front of a publisher's own ASP.NET Core routes: each request is checked (and charged) through the
/// gateway's verify API with the crawler's own token and price headers, or its x402 or L402 payment; a refusal (402, 403,
/// 400) is passed back to the crawler as the gateway gave it, price headers, x402 requirements, L402 challenge and offers included.
/// </summary>
public static class PaywallExtensions
{
    internal const string ClientName = "aisa-paywall";

    // The request headers a crawler pays with, passed to the gateway unchanged.
    private static readonly string[] ForwardedRequestHeaders =
        ["X-AISA-Crawler-Token", "crawler-exact-price", "crawler-max-price", "Idempotency-Key", "User-Agent", "PAYMENT-SIGNATURE", "X-PAYMENT",
            "Signature", "Signature-Input", "Signature-Agent"];

    // An Authorization header is passed on only when it pays (L402, or its older name LSAT): the site's own credentials stay here.
    private static readonly string[] PaymentAuthorizationSchemes = ["L402 ", "LSAT "];

    // The gateway's answer headers that tell a crawler what to pay and where.
    private static readonly string[] RelayedResponseHeaders =
        ["Crawler-Price", "Crawler-Price-Rail", "Crawler-Charged", "Link", "Retry-After", "Cache-Control", "PAYMENT-REQUIRED", "PAYMENT-RESPONSE", "X-PAYMENT-RESPONSE",
            "WWW-Authenticate"];

    public static IServiceCollection AddAisaPaywall(this IServiceCollection services, PaywallOptions options)
    {
        services.AddSingleton(options);
        services.AddHttpClient(ClientName, client =>
        {
            client.BaseAddress = options.GatewayUrl;
            client.Timeout = options.Timeout;
        });
        return services;
    }

    private static string AsSent(HttpContext http) =>
        http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget is { } raw && raw.StartsWith('/')
            ? raw
            : http.Request.Path.Value + http.Request.QueryString.Value;

    /// <summary>Demands payment through the gateway before the endpoint runs.</summary>
    public static TBuilder RequireCrawlerPayment<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var options = http.RequestServices.GetRequiredService<PaywallOptions>();
            var client = http.RequestServices.GetRequiredService<IHttpClientFactory>().CreateClient(ClientName);
            using var verify = new HttpRequestMessage(HttpMethod.Post, "api/v1/access/verify")
            {
                Content = JsonContent.Create(new
                {
                    publisherDomain = options.PublisherDomain,
                    // The URL as this site was asked for it, path and query as sent: a signed request covers them.
                    resourceUrl = $"https://{http.Request.Host.Value}{AsSent(http)}",
                }),
            };
            foreach (var name in ForwardedRequestHeaders)
            {
                if (http.Request.Headers.TryGetValue(name, out var value))
                {
                    verify.Headers.TryAddWithoutValidation(name, value.ToString());
                }
            }
            var authorization = http.Request.Headers.Authorization.ToString();
            if (PaymentAuthorizationSchemes.Any(scheme => authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)))
            {
                verify.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            HttpResponseMessage answer;
            try
            {
                answer = await client.SendAsync(verify, http.RequestAborted);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !http.RequestAborted.IsCancellationRequested)
            {
                // Fail closed: without the gateway nobody can be charged, so nobody is served.
                http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(PaywallExtensions)).LogWarning(e, "Payment gateway unreachable");
                return Results.Json(new { accessGranted = false, statusCode = 502, error = "payment_gateway_unavailable", message = "The payment gateway cannot be reached; retry later." }, statusCode: 502);
            }
            using (answer)
            {
                foreach (var name in RelayedResponseHeaders)
                {
                    if (answer.Headers.TryGetValues(name, out var values))
                    {
                        http.Response.Headers[name] = string.Join(", ", values);
                    }
                }
                if (answer.IsSuccessStatusCode)
                {
                    return await next(context);
                }
                var body = await answer.Content.ReadAsByteArrayAsync(http.RequestAborted);
                return new RelayedAnswer((int)answer.StatusCode, answer.Content.Headers.ContentType?.ToString() ?? "application/json", body);
            }
        });
}

/// <summary>The gateway's refusal, passed to the crawler with its status and body unchanged.</summary>
internal sealed class RelayedAnswer(int statusCode, string contentType, byte[] body) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = statusCode;
        httpContext.Response.ContentType = contentType;
        httpContext.Response.ContentLength = body.Length;
        return httpContext.Response.Body.WriteAsync(body, httpContext.RequestAborted).AsTask();
    }
}
