using System.Text.Json;
using Aisa.Settlement.Adapters.Solana.Keys;
using NBitcoin.DataEncoders;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Aisa.Settlement.Adapters.Solana;

/// <summary>
/// <c>Rails:Solana:Payouts</c>: the treasury owner's key, with which payouts are signed from the treasury's USDC account.
/// Read once at start, never logged or put in an error.
/// </summary>
public sealed class SolanaPayoutOptions
{
    /// <summary>The key as base58: the 64-byte keypair wallets export (seed and public key), or the 32-byte seed. Or <see cref="KeyFile"/>.</summary>
    public string? PrivateKey { get; set; }

    /// <summary>A keypair file as <c>solana-keygen</c> writes it (a JSON array of 64 numbers), readable by the service only.</summary>
    public string? KeyFile { get; set; }

    /// <summary>The 32-byte Ed25519 seed, or why there is none; the message never holds the key or the file's content.</summary>
    public byte[]? ReadSeed(string treasuryOwner, out string? problem)
    {
        problem = null;
        if (!string.IsNullOrWhiteSpace(PrivateKey) == !string.IsNullOrWhiteSpace(KeyFile))
        {
            problem = "needs one of PrivateKey (base58) or KeyFile (a keypair file), not both";
            return null;
        }
        byte[] bytes;
        try
        {
            if (KeyFile is { } path && !string.IsNullOrWhiteSpace(path))
            {
                var numbers = JsonSerializer.Deserialize<int[]>(File.ReadAllText(path)) ?? [];
                bytes = numbers.All(n => n is >= 0 and <= 255) ? numbers.Select(n => (byte)n).ToArray() : throw new FormatException();
            }
            else
            {
                bytes = Encoders.Base58.DecodeData(PrivateKey!.Trim());
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"KeyFile cannot be read ({e.GetType().Name})";
            return null;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            problem = "the key is not base58 (or, in a KeyFile, a JSON array of 64 numbers)";
            return null;
        }
        if (bytes.Length is not (32 or 64))
        {
            problem = "the key is neither a 64-byte keypair nor a 32-byte seed";
            return null;
        }
        var seed = bytes[..32];
        var publicKey = new byte[32];
        Ed25519.GeneratePublicKey(seed, 0, publicKey, 0);
        if (bytes.Length == 64 && !bytes.AsSpan(32).SequenceEqual(publicKey))
        {
            problem = "the keypair's second half is not the public key of its first";
            return null;
        }
        if (SolanaKey.Encode(publicKey) != treasuryOwner.Trim())
        {
            problem = $"the key is not TreasuryOwner's (it signs for {SolanaKey.Encode(publicKey)}): payouts are paid from the treasury's USDC account";
            return null;
        }
        return seed;
    }
}
