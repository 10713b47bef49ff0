using System.Security.Cryptography;
using System.Text;

namespace Aisa.Settlement.Adapters.Lightning.BtcPay;

/// <summary>
/// BTCPay's webhook signature: <c>BTCPay-Sig: sha256=&lt;hex of HMAC-SHA256(secret, raw body)&gt;</c>, compared in constant time
/// with the HMAC of the body as it arrived (never of the body re-serialized).
/// </summary>
public static class BtcPaySignature
{
    public const string Header = "BTCPay-Sig";
    private const string Scheme = "sha256=";

    public static bool IsValid(string? header, byte[] body, string secret)
    {
        if (header is null || !header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        byte[] claimed;
        try
        {
            claimed = Convert.FromHexString(header.AsSpan(Scheme.Length).Trim());
        }
        catch (FormatException)
        {
            return false;
        }
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body);
        return CryptographicOperations.FixedTimeEquals(expected, claimed);
    }
}
