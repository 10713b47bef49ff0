using Aisa.Settlement.Adapters.Evm.Addresses;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Adapters.Evm.Tests.Addresses;

public sealed class ExtendedPublicKeyTests
{
    // BIP32 test vectors 1 and 2: each parent's xpub and the xpub of its non-hardened child, as the BIP publishes them.
    [Theory]
    [InlineData("xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw", 1u,
        "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ")]
    [InlineData("xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5", 2u,
        "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV")]
    [InlineData("xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV", 1000000000u,
        "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy")]
    [InlineData("xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB", 0u,
        "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH")]
    public void A_child_matches_the_published_test_vector(string parent, uint index, string expectedChild)
    {
        var key = ExtendedPublicKey.Parse(parent);

        Assert.Equal(parent, key.ToString());
        Assert.Equal(expectedChild, key.Child(index).ToString());
    }

    [Fact]
    public void The_deposit_addresses_of_a_well_known_wallet_are_its_first_accounts()
    {
        // The account xpub (m/44'/60'/0') of the "test test … junk" mnemonic every Ethereum developer tool ships;
        // its accounts 0/0 and 0/1 are the two addresses those tools print first.
        var addresses = new DepositAddresses(ExtendedPublicKey.Parse(
            "xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP"));

        Assert.Equal("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", addresses.At(0).ToString());
        Assert.Equal("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", addresses.At(1).ToString());
    }

    [Fact]
    public async Task A_thousand_deposit_addresses_match_ethers()
    {
        const string xpub = "xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP";
        var addresses = new DepositAddresses(ExtendedPublicKey.Parse(xpub));

        var fromEthers = (await NodePeers.RunAsync("bip32-addresses.mjs", xpub, "1000")).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(1000, fromEthers.Length);
        Assert.Equal(fromEthers, Enumerable.Range(0, 1000).Select(k => addresses.At((uint)k).ToString()));
    }

    [Theory]
    [InlineData("xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi", "private key")]
    [InlineData("xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduC", "checksum")]
    [InlineData("xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Z", "bytes")]
    [InlineData("not base58 0OIl", "Base58")]
    public void A_bad_extended_key_is_refused_with_what_is_wrong(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => ExtendedPublicKey.Parse(text));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0x02, "not on secp256k1")]
    [InlineData(0x04, "compressed public key")]
    public void An_extended_key_whose_point_is_no_compressed_point_of_the_curve_is_refused(byte prefix, string reason)
    {
        // A well-formed xpub (right version, length and checksum) whose key is prefix ‖ 0xff…ff: x is not a field element.
        var payload = new byte[78];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(payload, 0x0488B21E);
        payload[45] = prefix;
        payload.AsSpan(46).Fill(0xff);
        var checksum = System.Security.Cryptography.SHA256.HashData(System.Security.Cryptography.SHA256.HashData(payload))[..4];
        var text = NBitcoin.DataEncoders.Encoders.Base58.EncodeData([.. payload, .. checksum]);

        var error = Assert.Throws<FormatException>(() => ExtendedPublicKey.Parse(text));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hardened_child_cannot_come_from_a_public_key()
    {
        var key = ExtendedPublicKey.Parse("xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB");

        Assert.Throws<ArgumentOutOfRangeException>(() => key.Child(0x8000_0000));
    }

    [Theory]
    [InlineData("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", true)]
    [InlineData("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", true)]
    [InlineData("0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266", true)]
    [InlineData("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92267", false)]
    [InlineData("0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266", false)]
    [InlineData("f39fd6e51aad88f6f4ce6ab8827279cfffb92266", false)]
    [InlineData("0xf39fd6e51aad88f6f4ce6ab8827279cfffb922", false)]
    public void An_address_in_mixed_case_must_carry_a_correct_checksum(string text, bool valid)
    {
        Assert.Equal(valid, EvmAddress.TryParse(text, out _));
    }
}
