namespace Aisa.Settlement.Adapters.Evm.Addresses;

/// <summary>A 20-byte EVM address. Equal whatever the case it was written in; shown in EIP-55 mixed case.</summary>
public readonly struct EvmAddress : IEquatable<EvmAddress>
{
    private readonly UInt128 _high;
    private readonly uint _low;

    public EvmAddress(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != 20)
        {
            throw new ArgumentException("An EVM address is 20 bytes.", nameof(bytes));
        }
        _high = System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
        _low = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes[16..]);
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[20];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, _high);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(16), _low);
        return bytes;
    }

    /// <summary>
    /// <c>0x</c> and 40 hex digits. All-lowercase or all-uppercase digits are taken as they are; mixed case must be
    /// a correct EIP-55 checksum, since a wrong one means a mistyped address.
    /// </summary>
    public static bool TryParse(string? text, out EvmAddress address)
    {
        address = default;
        if (text is null || text.Length != 42 || !text.StartsWith("0x", StringComparison.Ordinal))
        {
            return false;
        }
        var hex = text.AsSpan(2);
        byte[] bytes;
        try
        {
            bytes = Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return false;
        }
        var candidate = new EvmAddress(bytes);
        var mixedCase = hex.ContainsAnyInRange('a', 'f') && hex.ContainsAnyInRange('A', 'F');
        if (mixedCase && !string.Equals(candidate.ToString(), text, StringComparison.Ordinal))
        {
            return false;
        }
        address = candidate;
        return true;
    }

    public static EvmAddress Parse(string text) =>
        TryParse(text, out var address) ? address : throw new FormatException($"Not an EVM address (0x and 40 hex digits, EIP-55 case if mixed): {text}");

    /// <summary>Lowercase hex with 0x: the form JSON-RPC topics and our tables use.</summary>
    public string ToLowerHex() => "0x" + Convert.ToHexStringLower(ToBytes());

    /// <summary>EIP-55: a hex letter is uppercase where the Keccak-256 of the lowercase address has a nibble ≥ 8.</summary>
    public override string ToString()
    {
        var lower = Convert.ToHexStringLower(ToBytes());
        var hash = Keccak.Hash256(System.Text.Encoding.ASCII.GetBytes(lower));
        var chars = new char[42];
        chars[0] = '0';
        chars[1] = 'x';
        for (var i = 0; i < 40; i++)
        {
            var nibble = (hash[i / 2] >> (i % 2 == 0 ? 4 : 0)) & 0xF;
            chars[i + 2] = nibble >= 8 ? char.ToUpperInvariant(lower[i]) : lower[i];
        }
        return new string(chars);
    }

    public bool Equals(EvmAddress other) => _high == other._high && _low == other._low;

    public override bool Equals(object? obj) => obj is EvmAddress other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_high, _low);

    public static bool operator ==(EvmAddress left, EvmAddress right) => left.Equals(right);

    public static bool operator !=(EvmAddress left, EvmAddress right) => !left.Equals(right);
}
