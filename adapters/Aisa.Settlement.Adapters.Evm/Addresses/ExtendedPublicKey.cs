using System.Buffers.Binary;
using System.Security.Cryptography;
using ECPoint = Org.BouncyCastle.Math.EC.ECPoint;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Math;
using SimpleBase;

namespace Aisa.Settlement.Adapters.Evm.Addresses;

/// <summary>
/// A BIP32 extended public key (<c>xpub…</c> or <c>tpub…</c>) and its non-hardened children (CKDpub). Public
/// derivation only: the server derives deposit addresses and never holds a private key.
/// </summary>
public sealed class ExtendedPublicKey
{
    private const int SerializedLength = 78;
    private const uint FirstHardenedIndex = 0x8000_0000;
    private static readonly X9ECParameters Secp256k1 = SecNamedCurves.GetByName("secp256k1");

    // Version bytes of public and private extended keys (mainnet xpub/xprv, testnet tpub/tprv).
    private static readonly uint[] PublicVersions = [0x0488B21E, 0x043587CF];
    private static readonly uint[] PrivateVersions = [0x0488ADE4, 0x04358394];

    private readonly uint _version;
    private readonly uint _parentFingerprint;
    private readonly byte[] _chainCode;
    private readonly ECPoint _point;

    private ExtendedPublicKey(uint version, byte depth, uint parentFingerprint, uint childNumber, byte[] chainCode, ECPoint point)
    {
        _version = version;
        Depth = depth;
        _parentFingerprint = parentFingerprint;
        ChildNumber = childNumber;
        _chainCode = chainCode;
        _point = point.Normalize();
    }

    public byte Depth { get; }

    public uint ChildNumber { get; }

    /// <summary>Parses a Base58Check extended public key; a clear <see cref="FormatException"/> for anything else.</summary>
    public static ExtendedPublicKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] data;
        try
        {
            data = Base58.Bitcoin.Decode(text.Trim());
        }
        catch (ArgumentException)
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
        var key = payload[45..78].ToArray();
        if (key[0] is not (0x02 or 0x03))
        {
            throw new FormatException("The extended public key does not hold a compressed public key.");
        }
        ECPoint point;
        try
        {
            point = Secp256k1.Curve.DecodePoint(key);
        }
        catch (ArgumentException)
        {
            throw new FormatException("The extended public key's point is not on secp256k1.");
        }
        return new ExtendedPublicKey(version, payload[4], BinaryPrimitives.ReadUInt32BigEndian(payload[5..]), BinaryPrimitives.ReadUInt32BigEndian(payload[9..]),
            payload[13..45].ToArray(), point);
    }

    /// <summary>The non-hardened child <paramref name="index"/> (BIP32 CKDpub).</summary>
    public ExtendedPublicKey Child(uint index)
    {
        if (index >= FirstHardenedIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, "A hardened child cannot be derived from a public key.");
        }
        var compressed = _point.GetEncoded(compressed: true);
        Span<byte> data = stackalloc byte[37];
        compressed.CopyTo(data);
        BinaryPrimitives.WriteUInt32BigEndian(data[33..], index);
        var i = HMACSHA512.HashData(_chainCode, data);
        var tweak = new BigInteger(1, i, 0, 32);
        if (tweak.CompareTo(Secp256k1.N) >= 0)
        {
            // Probability below 2^-127; BIP32 says to go on with the next index, which only the caller can choose.
            throw new InvalidOperationException($"Child {index} is invalid under BIP32; use the next index.");
        }
        var child = Secp256k1.G.Multiply(tweak).Add(_point).Normalize();
        if (child.IsInfinity)
        {
            throw new InvalidOperationException($"Child {index} is invalid under BIP32; use the next index.");
        }
        return new ExtendedPublicKey(_version, checked((byte)(Depth + 1)), Fingerprint(compressed), index, i[32..], child);
    }

    /// <summary>The Base58Check serialization, as wallets show it.</summary>
    public override string ToString()
    {
        Span<byte> data = stackalloc byte[SerializedLength + 4];
        BinaryPrimitives.WriteUInt32BigEndian(data, _version);
        data[4] = Depth;
        BinaryPrimitives.WriteUInt32BigEndian(data[5..], _parentFingerprint);
        BinaryPrimitives.WriteUInt32BigEndian(data[9..], ChildNumber);
        _chainCode.CopyTo(data[13..]);
        _point.GetEncoded(compressed: true).CopyTo(data[45..]);
        Checksum(data[..SerializedLength]).CopyTo(data[SerializedLength..]);
        return Base58.Bitcoin.Encode(data);
    }

    /// <summary>The Ethereum address of this key, EIP-55 mixed case: the last 20 bytes of Keccak-256 of the uncompressed point.</summary>
    public EvmAddress ToEvmAddress()
    {
        var uncompressed = _point.GetEncoded(compressed: false);
        var hash = Keccak.Hash256(uncompressed.AsSpan(1));
        return new EvmAddress(hash[12..]);
    }

    private static byte[] Checksum(ReadOnlySpan<byte> payload) => SHA256.HashData(SHA256.HashData(payload))[..4];

    private static uint Fingerprint(byte[] compressedKey)
    {
        var ripemd = new RipeMD160Digest();
        var sha = SHA256.HashData(compressedKey);
        ripemd.BlockUpdate(sha, 0, sha.Length);
        var hash = new byte[20];
        ripemd.DoFinal(hash, 0);
        return BinaryPrimitives.ReadUInt32BigEndian(hash);
    }
}
