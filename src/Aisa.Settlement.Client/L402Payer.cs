using System.Text.RegularExpressions;

namespace Aisa.Settlement.Client;

/// <summary>
/// Pays one request with Lightning (L402), with no AISA account: the 402's <c>WWW-Authenticate: L402 macaroon="…",
/// invoice="…"</c> is read, the invoice paid by <paramref name="payInvoice"/> (the crawler's own Lightning wallet, which
/// answers the payment's preimage as hex and decides what it is willing to pay: it sees the invoice and its amount), and the
/// request made again with <c>Authorization: L402 &lt;macaroon&gt;:&lt;preimage&gt;</c>. The older <c>LSAT</c> challenge is read too.
/// </summary>
public sealed partial class L402Payer(Func<string, CancellationToken, Task<string>> payInvoice)
{
    /// <summary>
    /// GETs <paramref name="resource"/>; a 402 with an L402 challenge is paid, and the paid answer returned. Any other answer
    /// (paid or not) is returned as it came.
    /// </summary>
    public async Task<HttpResponseMessage> GetAsync(HttpClient http, Uri resource, CancellationToken cancellationToken = default)
    {
        var first = await http.GetAsync(resource, cancellationToken);
        if ((int)first.StatusCode != 402 || ReadChallenge(first.Headers.WwwAuthenticate.Select(h => h.ToString())) is not { } challenge)
        {
            return first;
        }
        first.Dispose();
        var authorization = await AuthorizeAsync(challenge, cancellationToken);
        using var paid = new HttpRequestMessage(HttpMethod.Get, resource);
        paid.Headers.TryAddWithoutValidation("Authorization", authorization);
        return await http.SendAsync(paid, cancellationToken);
    }

    /// <summary>
    /// Pays the challenge's invoice and answers the <c>Authorization</c> value that proves it — the same value for every retry of
    /// the one request (a second use is refused as <c>payment_already_used</c>).
    /// </summary>
    public async Task<string> AuthorizeAsync(L402Challenge challenge, CancellationToken cancellationToken = default)
    {
        var preimage = (await payInvoice(challenge.Invoice, cancellationToken)).Trim();
        if (preimage.Length != 64 || !preimage.All(char.IsAsciiHexDigit))
        {
            throw new InvalidOperationException("The Lightning wallet answered no 32-byte preimage in hex for the invoice it paid.");
        }
        return $"L402 {challenge.Macaroon}:{preimage.ToLowerInvariant()}";
    }

    /// <summary>The L402 (or LSAT) challenge among a response's <c>WWW-Authenticate</c> values; null when there is none.</summary>
    public static L402Challenge? ReadChallenge(IEnumerable<string> wwwAuthenticate)
    {
        foreach (var value in wwwAuthenticate)
        {
            var match = Challenge().Match(value);
            if (match.Success)
            {
                return new L402Challenge(match.Groups["macaroon"].Value, match.Groups["invoice"].Value);
            }
        }
        return null;
    }

    [GeneratedRegex("""^(?:L402|LSAT)\s+(?:macaroon="(?<macaroon>[^"]+)"\s*,\s*invoice="(?<invoice>[^"]+)"|invoice="(?<invoice>[^"]+)"\s*,\s*macaroon="(?<macaroon>[^"]+)")\s*$""", RegexOptions.IgnoreCase)]
    private static partial Regex Challenge();
}

/// <summary>An L402 challenge: the macaroon the paid retry carries, and the BOLT11 invoice to pay.</summary>
public sealed record L402Challenge(string Macaroon, string Invoice);
