using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Aisa.Settlement.Adapters.Stripe;

public enum SignatureCheck
{
    Valid,
    /// <summary>No <c>Stripe-Signature</c> header.</summary>
    Missing,
    /// <summary>A header without a timestamp or without any <c>v1</c> signature.</summary>
    Malformed,
    /// <summary>Signed too long ago (or in the future): a replayed delivery.</summary>
    OutsideTolerance,
    /// <summary>No <c>v1</c> signature matches any configured secret: a wrong secret or a changed body.</summary>
    NoMatch,
}

/// <summary>
/// Stripe's webhook signature: <c>Stripe-Signature: t=&lt;unix&gt;,v1=&lt;hex&gt;[,v1=…]</c>, where v1 is the lowercase hex
/// HMAC-SHA256, keyed by the whole endpoint secret (<c>whsec_…</c>), of <c>"&lt;t&gt;.&lt;raw body&gt;"</c>. Any v1 may match
/// any configured secret (Stripe sends several while a secret is rolled); the timestamp must be within the tolerance.
/// </summary>
public static class StripeSignature
{
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromSeconds(300);

    public static SignatureCheck Check(string? header, ReadOnlySpan<byte> rawBody, IReadOnlyList<string> secrets, DateTimeOffset now, TimeSpan tolerance)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return SignatureCheck.Missing;
        }
        long? timestamp = null;
        var signatures = new List<byte[]>();
        foreach (var part in header.Split(','))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }
            var (name, value) = (part[..equals].Trim(), part[(equals + 1)..].Trim());
            if (name == "t" && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var t))
            {
                timestamp = t;
            }
            else if (name == "v1" && value.Length == 64 && value.All(char.IsAsciiHexDigit))
            {
                signatures.Add(Convert.FromHexString(value));
            }
        }
        if (timestamp is not { } signedAt || signatures.Count == 0)
        {
            return SignatureCheck.Malformed;
        }
        if (Math.Abs(now.ToUnixTimeSeconds() - signedAt) > tolerance.TotalSeconds)
        {
            return SignatureCheck.OutsideTolerance;
        }
        var prefix = Encoding.UTF8.GetBytes(signedAt.ToString(CultureInfo.InvariantCulture) + ".");
        var message = new byte[prefix.Length + rawBody.Length];
        prefix.CopyTo(message, 0);
        rawBody.CopyTo(message.AsSpan(prefix.Length));
        foreach (var secret in secrets)
        {
            var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message);
            if (signatures.Any(signature => CryptographicOperations.FixedTimeEquals(signature, expected)))
            {
                return SignatureCheck.Valid;
            }
        }
        return SignatureCheck.NoMatch;
    }
}
