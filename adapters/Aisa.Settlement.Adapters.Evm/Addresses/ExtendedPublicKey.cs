using System.Buffers.Binary;
using System.Security.Cryptography;
using NBitcoin;
using NBitcoin.DataEncoders;

namespace Aisa.Settlement.Adapters.Evm.Addresses;

/// <summary>
/// A BIP32 extended public key (<c>xpub…</c> or <c>tpub…</c>) and its non-hardened children (CKDpub), derived by
/// NBitcoin. Public derivation only: the server derives deposit addresses and never holds a private key. The checks of
/// what an operator configures are ours: NBitcoin says one generic thing for a private key, a testnet key or a typo.
/// </summary>
public sealed class ExtendedPublicKey
{
    private const int SerializedLength = 78;
    private const uint FirstHardenedIndex = 0x8000_0000;

    // Version bytes of public and private extended keys (mainnet xpub/xprv, testnet tpub/tprv).
    private static readonly uint[] PublicVersions = [0x0488B21E, 0x043587CF];
    private static readonly uint[] PrivateVersions = [0x0488ADE4, 0x04358394];

    private readonly uint _version;
    private readonly ExtPubKey _key;

    private ExtendedPublicKey(uint version, ExtPubKey key)
    {
        _version = version;
        _key = key;
    }

    public byte Depth => _key.Depth;

    public uint ChildNumber => _key.Child;

    /// <summary>Parses a Base58Check extended public key; a clear <see cref="FormatException"/> for anything else.</summary>
    public static ExtendedPublicKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] data;
        try
        {
            data = Encoders.Base58.DecodeData(text.Trim());
        }
        catch (FormatException)
        {
            throw new FormatException("The extended public key is not Base58.");
        }
        if (data.Length != SerializedLength + 4)
        {
            throw new FormatException($"An extended public key is {SerializedLength} bytes and a checksum, not {data.Length} bytes.");
        }
        var payload = data.AsSpan(0, SerializedLength);
        if (!Checksum(payload).SequenceEqual(data.AsSpan(SerializedLength)))
        {
            throw new FormatException("The extended public key's checksum does not match: a character is wrong.");
        }
        var version = BinaryPrimitives.ReadUInt32BigEndian(payload);
        if (PrivateVersions.Contains(version))
        {
            throw new FormatException("This is an extended private key. Give the account's extended public key (xpub): the server never holds a private key.");
        }
        if (!PublicVersions.Contains(version))
        {
            throw new FormatException($"Unknown extended key version 0x{version:x8}: expected an xpub or tpub.");
        }
        if (payload[45] is not (0x02 or 0x03))
        {
            throw new FormatException("The extended public key does not hold a compressed public key.");
        }
        try
        {
            // Depth, parent fingerprint, child number, chain code and key: what NBitcoin reads, without the version.
            return new ExtendedPublicKey(version, new ExtPubKey(payload[4..].ToArray()));
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new FormatException("The extended public key's point is not on secp256k1.");
        }
    }

    /// <summary>The non-hardened child <paramref name="index"/> (BIP32 CKDpub).</summary>
    public ExtendedPublicKey Child(uint index)
    {
        if (index >= FirstHardenedIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, "A hardened child cannot be derived from a public key.");
        }
        try
        {
            return new ExtendedPublicKey(_version, _key.Derive(index));
        }
        catch (InvalidOperationException)
        {
            // Probability below 2^-127; BIP32 says to go on with the next index, which only the caller can choose.
            throw new InvalidOperationException($"Child {index} is invalid under BIP32; use the next index.");
        }
    }

    /// <summary>The Base58Check serialization, as wallets show it.</summary>
    public override string ToString()
    {
        Span<byte> data = stackalloc byte[SerializedLength + 4];
        BinaryPrimitives.WriteUInt32BigEndian(data, _version);
        _key.ToBytes().CopyTo(data[4..]);
        Checksum(data[..SerializedLength]).CopyTo(data[SerializedLength..]);
        return Encoders.Base58.EncodeData(data.ToArray());
    }

    /// <summary>The Ethereum address of this key, EIP-55 mixed case: the last 20 bytes of Keccak-256 of the uncompressed point.</summary>
    public EvmAddress ToEvmAddress()
    {
        var uncompressed = _key.PubKey.Decompress().ToBytes();
        var hash = Keccak.Hash256(uncompressed.AsSpan(1));
        return new EvmAddress(hash[12..]);
    }

    private static byte[] Checksum(ReadOnlySpan<byte> payload) => SHA256.HashData(SHA256.HashData(payload))[..4];
}
