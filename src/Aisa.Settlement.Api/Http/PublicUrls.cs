using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace Aisa.Settlement.Api.Http;

/// <summary><c>ForwardedHeaders</c>: the reverse proxies (TLS terminators, load balancers) whose <c>X-Forwarded-*</c> headers are believed.</summary>
public sealed class ForwardedHeadersSettings
{
    public const string Section = "ForwardedHeaders";

    /// <summary>IP addresses of the proxies in front of the service. None: every <c>X-Forwarded-*</c> header is ignored.</summary>
    public List<string> KnownProxies { get; set; } = [];

    public IEnumerable<string> Validate()
    {
        for (var i = 0; i < KnownProxies.Count; i++)
        {
            if (!IPAddress.TryParse(KnownProxies[i], out _))
            {
                yield return $"{Section}:KnownProxies[{i}] is not an IP address.";
            }
        }
    }
}

/// <summary>
/// Where the service says it is, in every URL it hands out (payment links, top-up and x402 resources): the configured
/// <c>Platform:PublicUrl</c>, else the request's own scheme and host — which behind a configured proxy are the ones the
/// client used (X-Forwarded-Proto / -Host), never ones any client can claim.
/// </summary>
public static class PublicUrls
{
    public static IApplicationBuilder UseConfiguredForwardedHeaders(this IApplicationBuilder app, ForwardedHeadersSettings settings)
    {
        if (settings.KnownProxies.Count == 0)
        {
            return app;
        }
        var options = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost,
        };
        // The framework trusts loopback by default: only what is configured is trusted here.
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var proxy in settings.KnownProxies)
        {
            options.KnownProxies.Add(IPAddress.Parse(proxy));
        }
        return app.UseForwardedHeaders(options);
    }

    /// <summary>The absolute URL of <paramref name="pathAndQuery"/> (starting with <c>/</c>) on this service, as clients reach it.</summary>
    public static string For(HttpRequest request, Configuration.PlatformOptions platform, string pathAndQuery) =>
        (platform.PublicUrl is { Length: > 0 } configured ? configured.TrimEnd('/') : $"{request.Scheme}://{request.Host}") + pathAndQuery;
}
