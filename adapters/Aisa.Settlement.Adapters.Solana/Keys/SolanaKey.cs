using System.Security.Cryptography;
using NBitcoin.DataEncoders;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Aisa.Settlement.Adapters.Solana.Keys;

/// <summary>
/// Solana's 32-byte account keys: base58 text, the Ed25519 curve test, program-derived addresses and associated token
/// accounts (what Solnet would do; it is not served here).
/// </summary>
public static class SolanaKey
{
    public const string TokenProgram = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
    public const string Token2022Program = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
    public const string AssociatedTokenProgram = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL";
    public const string MemoProgram = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr";

    private static readonly byte[] PdaMarker = "ProgramDerivedAddress"u8.ToArray();

    /// <summary>The key's 32 bytes; false for text that is not base58 of exactly 32 bytes.</summary>
    public static bool TryParse(string? text, out byte[] key)
    {
        key = [];
        // 32 bytes are 32 to 44 base58 characters.
        if (text is not { Length: >= 32 and <= 44 })
        {
            return false;
        }
        try
        {
            var bytes = Encoders.Base58.DecodeData(text);
            if (bytes.Length != 32)
            {
                return false;
            }
            key = bytes;
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public static byte[] Parse(string text) =>
        TryParse(text, out var key) ? key : throw new FormatException($"\"{text}\" is not a Solana key (base58 of 32 bytes).");

    public static string Encode(ReadOnlySpan<byte> key) =>
        key.Length == 32 ? Encoders.Base58.EncodeData(key.ToArray()) : throw new ArgumentException("A Solana key is 32 bytes.", nameof(key));

    /// <summary>Whether the bytes are a point of Ed25519 (a key a wallet could sign for); a program-derived address is not.</summary>
    public static bool IsOnCurve(ReadOnlySpan<byte> key) => key.Length == 32 && Ed25519.ValidatePublicKeyPartial(key.ToArray(), 0);

    /// <summary>
    /// The program-derived address of <paramref name="seeds"/> under <paramref name="program"/> and its bump: the first of
    /// bumps 255, 254, … whose SHA-256(seeds ‖ bump ‖ program ‖ "ProgramDerivedAddress") is off the curve.
    /// </summary>
    public static (byte[] Address, byte Bump) FindProgramAddress(IReadOnlyList<byte[]> seeds, ReadOnlySpan<byte> program)
    {
        if (seeds.Count > 15 || seeds.Any(seed => seed.Length > 32))
        {
            throw new ArgumentException("At most 15 seeds of at most 32 bytes each.", nameof(seeds));
        }
        var input = new byte[seeds.Sum(s => s.Length) + 1 + 32 + PdaMarker.Length];
        var at = 0;
        foreach (var seed in seeds)
        {
            seed.CopyTo(input, at);
            at += seed.Length;
        }
        var bumpAt = at++;
        program.CopyTo(input.AsSpan(at));
        PdaMarker.CopyTo(input, at + 32);
        for (var bump = 255; bump >= 0; bump--)
        {
            input[bumpAt] = (byte)bump;
            var address = SHA256.HashData(input);
            if (!IsOnCurve(address))
            {
                return (address, (byte)bump);
            }
        }
        throw new InvalidOperationException("No bump gives an address off the curve.");
    }

    /// <summary>The associated token account of <paramref name="owner"/> for <paramref name="mint"/> under the token program (SPL Token unless given).</summary>
    public static string AssociatedTokenAccount(string owner, string mint, string tokenProgram = TokenProgram) =>
        Encode(FindProgramAddress([Parse(owner), Parse(tokenProgram), Parse(mint)], Parse(AssociatedTokenProgram)).Address);
}
