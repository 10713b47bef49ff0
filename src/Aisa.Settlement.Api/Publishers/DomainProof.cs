using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Aisa.Settlement.Api.Http;

namespace Aisa.Settlement.Api.Publishers;

/// <summary>
/// Where the proof fetch connects and whom it trusts. The default resolves the domain by DNS to port 443 and trusts the
/// system's authorities; tests put a local HTTPS site in its place.
/// </summary>
public sealed record DomainProofNetwork(Func<DnsEndPoint, CancellationToken, Task<IPEndPoint[]>> ResolveAsync, X509Certificate2? TrustedRoot = null)
{
    public static readonly DomainProofNetwork Internet = new(PublicNetwork.ResolveAsync);
}

/// <summary>
/// Fetches <c>https://&lt;domain&gt;/.well-known/aisa-publisher.txt</c> safely: HTTPS only, to public addresses only (the
/// address checked is the one connected to, so a name that resolves to an inside address cannot be used to reach it),
/// no redirects, 5 s to connect, 10 s in all, at most 1 KB read.
/// </summary>
public sealed class DomainProof(DomainProofNetwork network, PublisherOptions options)
{
    public const string Path = "/.well-known/aisa-publisher.txt";
    private const int MaxBytes = 1024;

    public static string UrlOf(string domain) => $"https://{domain}{Path}";

    /// <summary>Null when the domain serves exactly <paramref name="token"/>; else what was wrong, for the publisher.</summary>
    public async Task<string?> CheckAsync(string domain, string token, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            ConnectCallback = PublicNetwork.Connector(network.ResolveAsync, options.AllowPrivateNetworks),
        };
        if (network.TrustedRoot is { } root)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, CustomTrustStore = { root } },
            };
        }
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            using var response = await client.GetAsync(new Uri(UrlOf(domain)), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if ((int)response.StatusCode is >= 300 and < 400)
            {
                return $"{UrlOf(domain)} answered a redirect ({(int)response.StatusCode}): serve the token at this URL itself.";
            }
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return $"{UrlOf(domain)} answered {(int)response.StatusCode}, not 200 with the token.";
            }
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[MaxBytes + 1];
            var read = 0;
            int chunk;
            while (read < buffer.Length && (chunk = await body.ReadAsync(buffer.AsMemory(read), cancellationToken)) > 0)
            {
                read += chunk;
            }
            if (read > MaxBytes)
            {
                return $"{UrlOf(domain)} is longer than {MaxBytes} bytes: serve the token alone.";
            }
            return Encoding.UTF8.GetString(buffer, 0, read).Trim() == token
                ? null
                : $"{UrlOf(domain)} does not hold this publisher's token alone.";
        }
        catch (HttpRequestException e)
        {
            return $"{UrlOf(domain)} could not be fetched: {PublicNetwork.Describe(e)}.";
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"{UrlOf(domain)} did not answer within 10 s.";
        }
    }
}
