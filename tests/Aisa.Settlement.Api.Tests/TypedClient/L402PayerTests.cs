using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.TypedClient;

/// <summary>The typed client's L402 payer reading challenges and checking what the wallet answers (paying is in L402RequestTests).</summary>
public sealed class L402PayerTests
{
    [Theory]
    [InlineData("L402 macaroon=\"AgEm_-x\", invoice=\"lnbcrt20n1pxyz\"")]
    [InlineData("LSAT macaroon=\"AgEm_-x\", invoice=\"lnbcrt20n1pxyz\"")]
    [InlineData("l402 invoice=\"lnbcrt20n1pxyz\", macaroon=\"AgEm_-x\"")]
    public void A_challenge_is_read_in_either_order_and_under_either_name(string header)
    {
        Assert.Equal(new L402Challenge("AgEm_-x", "lnbcrt20n1pxyz"), L402Payer.ReadChallenge(["Bearer realm=\"x\"", header]));
    }

    [Theory]
    [InlineData("Bearer realm=\"x\"")]
    [InlineData("L402 macaroon=\"AgEm\"")]
    [InlineData("L402 invoice=\"lnbc1\"")]
    [InlineData("Basic macaroon=\"AgEm\", invoice=\"lnbc1\"")]
    public void No_challenge_is_read_from_other_schemes_or_half_a_challenge(string header)
    {
        Assert.Null(L402Payer.ReadChallenge([header]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abcd")]
    [InlineData("zz00000000000000000000000000000000000000000000000000000000000000")]
    public async Task A_wallet_answer_that_is_no_preimage_is_an_error_not_a_header(string answer)
    {
        var payer = new L402Payer((_, _) => Task.FromResult(answer));
        await Assert.ThrowsAsync<InvalidOperationException>(() => payer.AuthorizeAsync(new L402Challenge("AgEm", "lnbc1")));
    }

    [Fact]
    public async Task The_authorization_carries_the_macaroon_and_the_preimage_in_lower_case()
    {
        var preimage = new string('A', 64);
        var payer = new L402Payer((invoice, _) => Task.FromResult(invoice == "lnbc1" ? preimage : ""));
        Assert.Equal($"L402 AgEm:{new string('a', 64)}", await payer.AuthorizeAsync(new L402Challenge("AgEm", "lnbc1")));
    }
}
