namespace Aisa.Settlement.Adapters.Evm;

/// <summary>
/// <c>Rails:Evm:Chains:&lt;chain&gt;:Payouts</c>: the hot wallet that pays publishers on this chain. Its key is read once at
/// start and never logged or put in an error.
/// </summary>
public sealed class EvmPayoutOptions
{
    /// <summary>The hot wallet's secp256k1 private key, 64 hex digits with or without <c>0x</c>. Or <see cref="KeyFile"/>.</summary>
    public string? PrivateKey { get; set; }

    /// <summary>A file holding the private key (hex), readable by the service only.</summary>
    public string? KeyFile { get; set; }

    /// <summary>The symbol of the configured token paid out (one of the chain's <c>Tokens</c>).</summary>
    public string Token { get; set; } = "USDC";

    /// <summary>The most a payout pays per unit of gas, in gwei: above it the payout waits for cheaper blocks.</summary>
    public decimal MaxFeePerGasGwei { get; set; } = 200m;

    /// <summary>A payout not mined after this long is sent again with the same nonce and a higher fee.</summary>
    public int ReplaceAfterSeconds { get; set; } = 180;

    /// <summary>The key's 32 bytes, or why there is none; the message never holds the key or the file's content.</summary>
    public byte[]? ReadKey(out string? problem)
    {
        problem = null;
        string text;
        if (!string.IsNullOrWhiteSpace(PrivateKey) == !string.IsNullOrWhiteSpace(KeyFile))
        {
            problem = "needs one of PrivateKey (hex) or KeyFile (a file holding it), not both";
            return null;
        }
        if (KeyFile is { } path && !string.IsNullOrWhiteSpace(path))
        {
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem = $"KeyFile cannot be read ({e.GetType().Name})";
                return null;
            }
        }
        else
        {
            text = PrivateKey!;
        }
        var hex = text.Trim();
        hex = hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? hex[2..] : hex;
        byte[] key;
        try
        {
            key = hex.Length == 64 ? Convert.FromHexString(hex) : throw new FormatException();
        }
        catch (FormatException)
        {
            problem = "the private key is not 64 hex digits";
            return null;
        }
        var scalar = new System.Numerics.BigInteger(key, isUnsigned: true, isBigEndian: true);
        if (scalar.IsZero || scalar >= Secp256k1Order)
        {
            problem = "the private key is not a secp256k1 key (zero, or not below the curve's order)";
            return null;
        }
        return key;
    }

    private static readonly System.Numerics.BigInteger Secp256k1Order =
        System.Numerics.BigInteger.Parse("0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture);

    public IEnumerable<string> Validate(string at, IReadOnlyList<EvmTokenOptions> tokens)
    {
        ReadKey(out var keyProblem);
        if (keyProblem is not null)
        {
            yield return $"{at}: {keyProblem}.";
        }
        if (!tokens.Any(t => string.Equals(t.Symbol, Token, StringComparison.OrdinalIgnoreCase)))
        {
            yield return $"{at}:Token {Token} is not one of the chain's Tokens ({string.Join(", ", tokens.Select(t => t.Symbol))}).";
        }
        if (MaxFeePerGasGwei <= 0 || MaxFeePerGasGwei > 100_000)
        {
            yield return $"{at}:MaxFeePerGasGwei must be above 0 and at most 100000.";
        }
        if (ReplaceAfterSeconds is < 1 or > 86_400)
        {
            yield return $"{at}:ReplaceAfterSeconds must be from 1 to 86400.";
        }
    }
}
