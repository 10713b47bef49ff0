using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Aisa.Settlement.Api.Publishers;

/// <summary>
/// Where the proof fetch connects and whom it trusts. The default resolves the domain by DNS to port 443 and trusts the
/// system's authorities; tests put a local HTTPS site in its place.
/// </summary>
public sealed record DomainProofNetwork(Func<string, CancellationToken, Task<IPEndPoint[]>> ResolveAsync, X509Certificate2? TrustedRoot = null)
{
    public static readonly DomainProofNetwork Internet = new(async (host, cancellationToken) =>
        (await Dns.GetHostAddressesAsync(host, cancellationToken)).Select(address => new IPEndPoint(address, 443)).ToArray());
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
            ConnectCallback = ConnectAsync,
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
        catch (DomainProofRefused refused)
        {
            return refused.Message;
        }
        catch (HttpRequestException e) when (e.InnerException is DomainProofRefused refused)
        {
            return refused.Message;
        }
        catch (HttpRequestException e)
        {
            // The handler's message names the host and the kind of failure (DNS, TLS, refused), nothing of ours.
            return $"{UrlOf(domain)} could not be fetched: {e.Message.TrimEnd('.')}.";
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"{UrlOf(domain)} did not answer within 10 s.";
        }
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var endpoints = await network.ResolveAsync(context.DnsEndPoint.Host, cancellationToken);
        var allowed = endpoints.Where(e => options.AllowPrivateNetworks || IsPublic(e.Address)).ToList();
        if (allowed.Count == 0)
        {
            throw new DomainProofRefused(endpoints.Length == 0
                ? $"{context.DnsEndPoint.Host} has no address."
                : $"{context.DnsEndPoint.Host} resolves to a private, loopback or reserved address ({endpoints[0].Address}): the proof is fetched from public addresses only.");
        }
        Exception? last = null;
        foreach (var endpoint in allowed)
        {
            var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(endpoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
        }
        throw last!;
    }

    /// <summary>Whether an address is on the public internet: not loopback, private, link-local, shared, multicast or reserved (v4 and v6).</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
        {
            return false;
        }
        var bytes = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return bytes[0] switch
            {
                0 or 10 or 127 or >= 224 => false,
                100 => bytes[1] is < 64 or > 127,
                169 => bytes[1] != 254,
                172 => bytes[1] is < 16 or > 31,
                192 => !(bytes[1] == 168 || (bytes[1] == 0 && bytes[2] is 0 or 2) || (bytes[1] == 88 && bytes[2] == 99)),
                198 => bytes[1] is not (18 or 19) && !(bytes[1] == 51 && bytes[2] == 100),
                203 => !(bytes[1] == 0 && bytes[2] == 113),
                _ => true,
            };
        }
        return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6UniqueLocal
            || (bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8)
            || address.IsIPv6Teredo || bytes[0] == 0x00);
    }
}

/// <summary>The fetch would go somewhere the proof may not be fetched from.</summary>
public sealed class DomainProofRefused(string message) : Exception(message);
