namespace Aisa.Settlement.Adapters.Lightning;

/// <summary>
/// <c>Rails:Lightning:Lnd</c>: an LND node's REST interface, its invoice macaroon, and — LND knowing no fiat — where the
/// BTC/USD rate is read when an invoice is made.
/// </summary>
public sealed class LndOptions
{
    /// <summary>The REST address (https://node:8080/).</summary>
    public string? RestUrl { get; set; }

    /// <summary>The invoice macaroon (<c>invoice.macaroon</c>: it can make and read invoices, and pay nothing), hex.</summary>
    public string? MacaroonHex { get; set; }

    /// <summary>
    /// The SHA-256 of LND's self-signed TLS certificate (hex, colons allowed): that certificate, and only it, is trusted. Without
    /// it the system's certificate authorities decide.
    /// </summary>
    public string? TlsCertificateThumbprint { get; set; }

    /// <summary>An http(s) URL answering JSON with the price of one bitcoin in US dollars.</summary>
    public string? RateUrl { get; set; }

    /// <summary>Where the price is in that JSON, as property names joined by dots (<c>bitcoin.usd</c>).</summary>
    public string? RateJsonPath { get; set; }

    /// <summary>The pinned thumbprint as bytes; null when none is set.</summary>
    public byte[]? PinnedThumbprint => string.IsNullOrWhiteSpace(TlsCertificateThumbprint) ? null : Convert.FromHexString(TlsCertificateThumbprint.Replace(":", "", StringComparison.Ordinal).Trim());

    public IEnumerable<string> Validate(string at)
    {
        if (!LightningOptions.IsHttpUrl(RestUrl))
        {
            yield return $"{at}:RestUrl is required: LND's REST address (https://host:8080/).";
        }
        if (string.IsNullOrWhiteSpace(MacaroonHex) || MacaroonHex.Length % 2 != 0 || !MacaroonHex.All(char.IsAsciiHexDigit))
        {
            // Never the value: a macaroon is a bearer secret.
            yield return $"{at}:MacaroonHex is required: the invoice macaroon as hex (xxd -p -c 1000 invoice.macaroon).";
        }
        if (!string.IsNullOrWhiteSpace(TlsCertificateThumbprint) && TlsCertificateThumbprint.Replace(":", "", StringComparison.Ordinal).Trim() is var hex
            && (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit)))
        {
            yield return $"{at}:TlsCertificateThumbprint is the SHA-256 of LND's tls.cert (64 hex digits, colons allowed).";
        }
        if (!LightningOptions.IsHttpUrl(RateUrl))
        {
            yield return $"{at}:RateUrl is required: an http(s) URL answering JSON with the BTC/USD price (LND knows no fiat).";
        }
        if (string.IsNullOrWhiteSpace(RateJsonPath) || RateJsonPath.Split('.').Any(string.IsNullOrWhiteSpace))
        {
            yield return $"{at}:RateJsonPath is required: where the price is in the rate's JSON, as names joined by dots (bitcoin.usd).";
        }
    }
}
