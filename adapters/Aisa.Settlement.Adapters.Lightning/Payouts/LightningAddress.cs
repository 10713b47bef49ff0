using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aisa.Settlement.Adapters.Lightning.Backends;

namespace Aisa.Settlement.Adapters.Lightning.Payouts;

/// <summary>What a Lightning address's LNURL-pay endpoint offers (LUD-06): where to ask for an invoice, for how much, committed to which metadata.</summary>
public sealed record PayRequest(Uri Callback, long MinSendableMsat, long MaxSendableMsat, string Metadata)
{
    /// <summary>The description hash an invoice from the callback must carry: SHA-256 of the metadata as served (LUD-06).</summary>
    public string DescriptionHash => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Metadata)));
}

/// <summary>
/// A Lightning address <c>name@domain</c> (LUD-16): resolved at <c>https://domain/.well-known/lnurlp/name</c> to a pay request,
/// whose callback answers a fresh invoice for an exact amount. Plain http only for a loopback domain (a local LNURL server).
/// </summary>
public sealed partial class LightningAddress
{
    private LightningAddress(string name, string domain)
    {
        Name = name;
        Domain = domain;
    }

    public string Name { get; }

    /// <summary>The host, with a port if one was given.</summary>
    public string Domain { get; }

    public override string ToString() => $"{Name}@{Domain}";

    [GeneratedRegex("^[a-z0-9._+-]{1,64}$")]
    private static partial Regex NamePattern();

    public static bool TryParse(string? text, out LightningAddress? address)
    {
        address = null;
        var parts = text?.Trim().ToLowerInvariant().Split('@');
        if (parts is not { Length: 2 } || !NamePattern().IsMatch(parts[0]) || Uri.CheckHostName(parts[1].Split(':')[0]) == UriHostNameType.Unknown
            || !Uri.TryCreate($"https://{parts[1]}/", UriKind.Absolute, out var uri) || uri.Authority != parts[1].TrimEnd('.'))
        {
            return false;
        }
        address = new LightningAddress(parts[0], parts[1]);
        return true;
    }

    private bool Loopback => IPAddress.TryParse(Domain.Split(':')[0], out var ip) ? IPAddress.IsLoopback(ip) : Domain.Split(':')[0] == "localhost";

    /// <summary>The pay request the address's server offers; a server away or an answer that is not one throws <see cref="LightningBackendException"/>.</summary>
    public async Task<PayRequest> ResolveAsync(LightningHttp http, CancellationToken cancellationToken)
    {
        var url = new Uri($"{(Loopback ? "http" : "https")}://{Domain}/.well-known/lnurlp/{Name}");
        var (status, body) = await http.SendAsync(HttpMethod.Get, url, null, _ => { }, cancellationToken);
        if (status is < 200 or >= 300 || body is not JsonObject offer || offer["status"]?.ToString() == "ERROR")
        {
            throw new LightningBackendException($"The Lightning address {this} does not resolve (HTTP {status}: {body?["reason"]?.ToString() ?? "no pay request"}).");
        }
        if (offer["tag"]?.ToString() != "payRequest" || !Uri.TryCreate(offer["callback"]?.ToString(), UriKind.Absolute, out var callback)
            || !(callback.Scheme == "https" || (callback.Scheme == "http" && Loopback))
            || Msat.Int64(offer["minSendable"]) is not { } min || Msat.Int64(offer["maxSendable"]) is not { } max || min < 1 || max < min
            || offer["metadata"]?.ToString() is not { Length: > 0 } metadata)
        {
            throw new LightningBackendException($"The Lightning address {this} answers something that is not an LNURL pay request.");
        }
        return new PayRequest(callback, min, max, metadata);
    }

    /// <summary>A fresh invoice for exactly <paramref name="msat"/>, as the callback answers it (checked by the caller).</summary>
    public async Task<string> InvoiceAsync(LightningHttp http, PayRequest request, long msat, CancellationToken cancellationToken)
    {
        var separator = string.IsNullOrEmpty(request.Callback.Query) ? "?" : "&";
        var (status, body) = await http.SendAsync(HttpMethod.Get, new Uri(request.Callback + separator + "amount=" + msat.ToString(CultureInfo.InvariantCulture)), null, _ => { }, cancellationToken);
        if (status is < 200 or >= 300 || body?["status"]?.ToString() == "ERROR" || body?["pr"]?.ToString() is not { Length: > 0 } invoice)
        {
            throw new LightningBackendException($"The Lightning address {this} gave no invoice for {msat} msat (HTTP {status}: {body?["reason"]?.ToString() ?? "no pr"}).");
        }
        return invoice;
    }
}
