using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using NBitcoin;
using NBitcoin.DataEncoders;

namespace Aisa.Settlement.Adapters.Lightning.Bolt11;

/// <summary>
/// A BOLT11 payment request, decoded and its signature checked: the node that signed it is recovered from the signature
/// (and must be the payee it names, if it names one). What a backend hands out is read with this before an agent sees it.
/// </summary>
/// <param name="AmountMsat">Null for an invoice of any amount.</param>
/// <param name="Expiry">Seconds after <paramref name="Timestamp"/> (3600 when the invoice says nothing).</param>
/// <param name="Payee">The signing node's compressed public key, hex.</param>
public sealed record Bolt11Invoice(
    string PaymentRequest,
    LightningNetwork Network,
    long? AmountMsat,
    DateTimeOffset Timestamp,
    string PaymentHash,
    string? PaymentSecret,
    string? Description,
    string? DescriptionHash,
    TimeSpan Expiry,
    int MinFinalCltvExpiry,
    string Payee)
{
    private const string Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    private const int SignatureWords = 104;

    public DateTimeOffset ExpiresAt => Timestamp + Expiry;

    /// <summary>The invoice, or why it is not one (a bad checksum, an unknown network, a signature that does not recover to its payee…).</summary>
    public static bool TryDecode(string? text, out Bolt11Invoice? invoice, out string? problem)
    {
        invoice = null;
        try
        {
            invoice = Decode(text ?? "");
            problem = null;
            return true;
        }
        catch (FormatException e)
        {
            problem = e.Message;
            return false;
        }
    }

    public static Bolt11Invoice Decode(string text)
    {
        var request = text.Trim();
        if (request.StartsWith("lightning:", StringComparison.OrdinalIgnoreCase))
        {
            request = request["lightning:".Length..];
        }
        if (request.Any(char.IsUpper) && request.Any(char.IsLower))
        {
            throw new FormatException("a BOLT11 invoice is all lower case or all upper case");
        }
        request = request.ToLowerInvariant();
        var separator = request.LastIndexOf('1');
        if (separator < 4 || request.Length - separator - 1 < 7 + SignatureWords + 6)
        {
            throw new FormatException("not a BOLT11 invoice (too short)");
        }
        var hrp = request[..separator];
        byte[] words;
        try
        {
            // The checksum is bech32's (not bech32m), and an invoice is longer than a segwit address: no 90-character limit.
            var encoder = new Bech32Encoder(Encoding.ASCII.GetBytes(hrp)) { StrictLength = false };
            words = encoder.DecodeDataRaw(request, out var type);
            if (type != Bech32EncodingType.BECH32)
            {
                throw new FormatException("its checksum is bech32m, not bech32");
            }
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IndexOutOfRangeException)
        {
            throw new FormatException($"its bech32 checksum or characters are wrong ({e.Message.TrimEnd('.')})", e);
        }
        var (network, amount) = ReadPrefix(hrp);
        if (words.Length < 7 + SignatureWords)
        {
            throw new FormatException("not a BOLT11 invoice (too short)");
        }
        var data = words.AsSpan(0, words.Length - SignatureWords);
        var timestamp = DateTimeOffset.FromUnixTimeSeconds((long)ReadNumber(data[..7]));

        string? paymentHash = null, secret = null, description = null, descriptionHash = null, payeeTag = null;
        var expiry = TimeSpan.FromSeconds(3600);
        var cltv = 18;
        var at = 7;
        while (at < data.Length)
        {
            if (at + 3 > data.Length)
            {
                throw new FormatException("a tagged field is cut short");
            }
            var tag = Charset[data[at]];
            var length = (data[at + 1] << 5) | data[at + 2];
            if (at + 3 + length > data.Length)
            {
                throw new FormatException($"tagged field {tag} is longer than the invoice");
            }
            var field = data.Slice(at + 3, length);
            at += 3 + length;
            // A field of an unexpected length is skipped, as BOLT11 says a reader must.
            switch (tag)
            {
                case 'p' when length == 52 && paymentHash is null:
                    paymentHash = Convert.ToHexStringLower(ToBytes(field)[..32]);
                    break;
                case 's' when length == 52 && secret is null:
                    secret = Convert.ToHexStringLower(ToBytes(field)[..32]);
                    break;
                case 'h' when length == 52 && descriptionHash is null:
                    descriptionHash = Convert.ToHexStringLower(ToBytes(field)[..32]);
                    break;
                case 'n' when length == 53 && payeeTag is null:
                    payeeTag = Convert.ToHexStringLower(ToBytes(field)[..33]);
                    break;
                case 'd' when description is null:
                    description = Encoding.UTF8.GetString(ToBytes(field, dropPartial: true));
                    break;
                case 'x':
                    expiry = TimeSpan.FromSeconds((double)ReadNumber(field));
                    break;
                case 'c':
                    cltv = (int)Math.Min(ReadNumber(field), int.MaxValue);
                    break;
            }
        }
        if (paymentHash is null)
        {
            throw new FormatException("it has no payment hash");
        }

        // The signature covers the prefix's bytes and the data's words as bytes (zero-padded); it recovers the signer.
        var signature = ToBytes(words.AsSpan(words.Length - SignatureWords));
        if (signature.Length != 65 || signature[64] > 3)
        {
            throw new FormatException("its signature is malformed");
        }
        var signed = SHA256.HashData([.. Encoding.ASCII.GetBytes(hrp), .. ToBytes(data)]);
        PubKey signer;
        try
        {
            signer = PubKey.RecoverCompact(new uint256(signed), new CompactSignature(signature[64], signature[..64]));
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new FormatException("its signature recovers no key", e);
        }
        var payee = signer.ToHex();
        if (payeeTag is not null && payeeTag != payee)
        {
            throw new FormatException("its signature is not its payee's");
        }
        return new Bolt11Invoice(request, network, amount, timestamp, paymentHash, secret, description, descriptionHash, expiry, cltv, payee);
    }

    /// <summary>The prefix <c>ln</c> + network + amount: <c>lnbc2500u</c> is 2,500 µBTC on mainnet.</summary>
    private static (LightningNetwork, long?) ReadPrefix(string hrp)
    {
        if (!hrp.StartsWith("ln", StringComparison.Ordinal))
        {
            throw new FormatException("it does not start with ln");
        }
        var rest = hrp[2..];
        // Longest first: lnbcrt is regtest, not mainnet; lntbs is signet, not testnet.
        (string Prefix, LightningNetwork Network)[] networks = [("bcrt", LightningNetwork.Regtest), ("bc", LightningNetwork.Mainnet), ("tbs", LightningNetwork.Signet), ("tb", LightningNetwork.Testnet)];
        var (prefix, network) = networks.FirstOrDefault(n => rest.StartsWith(n.Prefix, StringComparison.Ordinal));
        if (prefix is null)
        {
            throw new FormatException($"its network prefix ln{rest} is not one of lnbc, lntb, lntbs, lnbcrt");
        }
        var amount = rest[prefix.Length..];
        if (amount.Length == 0)
        {
            return (network, null);
        }
        var multiplier = char.IsAsciiDigit(amount[^1]) ? ' ' : amount[^1];
        var digits = multiplier == ' ' ? amount : amount[..^1];
        if (digits.Length == 0 || digits.Length > 15 || digits[0] == '0' || !digits.All(char.IsAsciiDigit))
        {
            throw new FormatException($"its amount {amount} is not a number");
        }
        var value = BigInteger.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        // msat per unit: 1 BTC = 10^11 msat; m, u, n, p are 10^-3 … 10^-12 BTC (a pico-bitcoin is a tenth of a msat).
        var msat = multiplier switch
        {
            ' ' => value * 100_000_000_000,
            'm' => value * 100_000_000,
            'u' => value * 100_000,
            'n' => value * 100,
            'p' when value % 10 == 0 => value / 10,
            'p' => throw new FormatException("its amount is not a whole number of millisatoshis"),
            _ => throw new FormatException($"its amount multiplier {multiplier} is not one of m, u, n, p"),
        };
        return msat > long.MaxValue ? throw new FormatException("its amount is too large") : (network, (long)msat);
    }

    private static ulong ReadNumber(ReadOnlySpan<byte> words)
    {
        if (words.Length > 12)
        {
            throw new FormatException("a number field is too long");
        }
        ulong value = 0;
        foreach (var word in words)
        {
            value = (value << 5) | word;
        }
        return value;
    }

    /// <summary>5-bit words to bytes; the last bits that do not fill a byte are padding (kept as a zero-padded byte unless dropped).</summary>
    private static byte[] ToBytes(ReadOnlySpan<byte> words, bool dropPartial = false)
    {
        var bytes = new List<byte>(words.Length * 5 / 8 + 1);
        int accumulator = 0, bits = 0;
        foreach (var word in words)
        {
            accumulator = (accumulator << 5) | word;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                bytes.Add((byte)(accumulator >> bits));
                accumulator &= (1 << bits) - 1;
            }
        }
        if (bits > 0 && !dropPartial)
        {
            bytes.Add((byte)(accumulator << (8 - bits)));
        }
        return [.. bytes];
    }
}
