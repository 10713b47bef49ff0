using System.Text.Json;
using Aisa.Settlement.Adapters.Solana.Keys;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Adapters.Solana.Tests.Keys;

public sealed class SolanaKeyTests
{
    private const string UsdcMint = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";

    [Fact]
    public void Well_known_keys_read_as_their_bytes_and_write_back_as_they_were()
    {
        Assert.Equal(new byte[32], SolanaKey.Parse("11111111111111111111111111111111"));
        foreach (var key in new[] { UsdcMint, SolanaKey.TokenProgram, SolanaKey.AssociatedTokenProgram, SolanaKey.MemoProgram })
        {
            Assert.Equal(key, SolanaKey.Encode(SolanaKey.Parse(key)));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1!")]
    [InlineData("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1vv")]
    [InlineData("0PjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")]
    [InlineData("OPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")]
    [InlineData("1111111111111111111111111111111")]
    [InlineData("0x833589fcd6edb6e08f4c7c32d4f71b54bda02913")]
    public void Text_that_is_not_base58_of_32_bytes_is_no_key(string text) => Assert.False(SolanaKey.TryParse(text, out _));

    [Fact]
    public void Associated_token_accounts_and_program_addresses_match_vectors_computed_by_solana_kit()
    {
        // Computed once by @solana/kit 8.4.0 (findAssociatedTokenPda, getProgramDerivedAddress): fixed here, checked live below.
        Assert.Equal("GBjQPkFGJf3q2LYgMshHqgsXFFnDnqHCAcJZmUVHmCBm", SolanaKey.AssociatedTokenAccount("H62N1jkG3xwPV73feCU9uq3TASixMS5ARJ252CZDzCen", UsdcMint));
        var (pda, bump) = SolanaKey.FindProgramAddress(["aisa-1"u8.ToArray(), SolanaKey.Parse("B6JLYKfAewaYJyr4KJXsR2QJBphsCY2hyZTeb6Wcret9")], SolanaKey.Parse(SolanaKey.TokenProgram));
        Assert.Equal(("3yL965nMHHMxzEasbtHQizzmN46xfwarfAQeHmkoTL21", (byte)254), (SolanaKey.Encode(pda), bump));
        Assert.True(SolanaKey.IsOnCurve(SolanaKey.Parse("H62N1jkG3xwPV73feCU9uq3TASixMS5ARJ252CZDzCen")));
        Assert.False(SolanaKey.IsOnCurve(SolanaKey.Parse("GBjQPkFGJf3q2LYgMshHqgsXFFnDnqHCAcJZmUVHmCBm")));
    }

    [Fact]
    public async Task For_fresh_wallets_the_associated_token_account_the_bump_and_the_curve_test_agree_with_solana_kit()
    {
        var lines = (await NodePeers.RunAsync("solana-keys.mjs", UsdcMint, "40")).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(40, lines.Length);
        foreach (var line in lines)
        {
            var kit = JsonDocument.Parse(line).RootElement;
            var owner = kit.GetProperty("owner").GetString()!;
            Assert.Equal(kit.GetProperty("ata").GetString(), SolanaKey.AssociatedTokenAccount(owner, UsdcMint));
            Assert.Equal(!kit.GetProperty("ownerOffCurve").GetBoolean(), SolanaKey.IsOnCurve(SolanaKey.Parse(owner)));
            Assert.Equal(!kit.GetProperty("ataOffCurve").GetBoolean(), SolanaKey.IsOnCurve(SolanaKey.Parse(kit.GetProperty("ata").GetString()!)));
            var (pda, bump) = SolanaKey.FindProgramAddress([System.Text.Encoding.UTF8.GetBytes(kit.GetProperty("seed").GetString()!), SolanaKey.Parse(owner)],
                SolanaKey.Parse(SolanaKey.TokenProgram));
            Assert.Equal((kit.GetProperty("pda").GetString(), kit.GetProperty("bump").GetInt32()), (SolanaKey.Encode(pda), (int)bump));
        }
    }
}
