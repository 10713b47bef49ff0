using System.Net;
using System.Net.Sockets;

namespace Aisa.Settlement.Api.Http;

/// <summary>
/// Outgoing connections to addresses someone else named (a publisher's domain, an agent's webhook URL) that cannot be
/// turned against the service: the name is resolved here and only public addresses are connected to, so a name that
/// resolves to an inside address (or is one) reaches nothing inside.
/// </summary>
public static class PublicNetwork
{
    /// <summary>A <see cref="SocketsHttpHandler.ConnectCallback"/> connecting only to public addresses (any, with <paramref name="allowPrivate"/>).</summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> Connector(
        Func<DnsEndPoint, CancellationToken, Task<IPEndPoint[]>> resolveAsync, bool allowPrivate) => async (context, cancellationToken) =>
    {
        var endpoints = await resolveAsync(context.DnsEndPoint, cancellationToken);
        var allowed = endpoints.Where(e => allowPrivate || IsPublic(e.Address)).ToList();
        if (allowed.Count == 0)
        {
            throw new RefusedAddressException(endpoints.Length == 0
                ? $"{context.DnsEndPoint.Host} has no address."
                : $"{context.DnsEndPoint.Host} resolves to a private, loopback or reserved address ({endpoints[0].Address}): only public addresses are reached.");
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
    };

    /// <summary>DNS, at the port asked for.</summary>
    public static async Task<IPEndPoint[]> ResolveAsync(DnsEndPoint target, CancellationToken cancellationToken) =>
        (await Dns.GetHostAddressesAsync(target.Host, cancellationToken)).Select(address => new IPEndPoint(address, target.Port)).ToArray();

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

    /// <summary>The text of a failed request for the one who named the address: its refusal, or the handler's own (host and kind of failure only).</summary>
    public static string Describe(HttpRequestException e) =>
        e.InnerException is RefusedAddressException refused ? refused.Message : e.Message.TrimEnd('.');
}

/// <summary>The connection would go somewhere it may not.</summary>
public sealed class RefusedAddressException(string message) : Exception(message);
