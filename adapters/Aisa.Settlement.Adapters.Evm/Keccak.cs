using Org.BouncyCastle.Crypto.Digests;

namespace Aisa.Settlement.Adapters.Evm;

/// <summary>Keccak-256 as Ethereum uses it (the original Keccak padding, not SHA3-256), from BouncyCastle.</summary>
public static class Keccak
{
    public static byte[] Hash256(ReadOnlySpan<byte> data)
    {
        var digest = new KeccakDigest(256);
        digest.BlockUpdate(data.ToArray(), 0, data.Length);
        var hash = new byte[32];
        digest.DoFinal(hash, 0);
        return hash;
    }

    /// <summary>The 4-byte selector of a function signature, as hex without 0x: "transfer(address,uint256)" → a9059cbb.</summary>
    public static string Selector(string signature) => Convert.ToHexStringLower(Hash256(System.Text.Encoding.ASCII.GetBytes(signature))[..4]);

    /// <summary>The topic of an event signature, 0x and 64 hex digits.</summary>
    public static string Topic(string signature) => "0x" + Convert.ToHexStringLower(Hash256(System.Text.Encoding.ASCII.GetBytes(signature)));
}
