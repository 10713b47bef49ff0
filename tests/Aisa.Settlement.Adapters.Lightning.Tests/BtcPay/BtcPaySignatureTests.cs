using System.Text;
using Aisa.Settlement.Adapters.Lightning.BtcPay;

namespace Aisa.Settlement.Adapters.Lightning.Tests.BtcPay;

public sealed class BtcPaySignatureTests
{
    // HMAC-SHA256 of this body with this secret, by `printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret"`.
    private const string Secret = "3vZ8s7w2";
    private const string Body = "{\n  \"type\": \"InvoiceSettled\",\n  \"invoiceId\": \"HMprBnL9BTXWuPvpoKBS6e\"\n}";
    private const string Expected = "sha256=6fe60e4c54ea5ab18e48f00c859b095d5a7d993fab605148d6432656f84d52b1";

    [Fact]
    public void The_signature_is_the_HMAC_of_the_raw_body_in_any_case_of_hex()
    {
        var body = Encoding.UTF8.GetBytes(Body);

        Assert.True(BtcPaySignature.IsValid(Expected, body, Secret));
        Assert.True(BtcPaySignature.IsValid(Expected.ToUpperInvariant().Replace("SHA256=", "sha256=", StringComparison.Ordinal), body, Secret));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("6fe60e4c54ea5ab18e48f00c859b095d5a7d993fab605148d6432656f84d52b1")]
    [InlineData("sha512=6fe60e4c54ea5ab18e48f00c859b095d5a7d993fab605148d6432656f84d52b1")]
    [InlineData("sha256=not-hex")]
    [InlineData("sha256=6fe60e4c")]
    [InlineData("sha256=6fe60e4c54ea5ab18e48f00c859b095d5a7d993fab605148d6432656f84d52b2")]
    public void A_missing_malformed_short_or_different_signature_is_refused(string? header) =>
        Assert.False(BtcPaySignature.IsValid(header, Encoding.UTF8.GetBytes(Body), Secret));

    [Fact]
    public void The_body_re_serialized_or_changed_by_a_byte_no_longer_verifies()
    {
        Assert.False(BtcPaySignature.IsValid(Expected, Encoding.UTF8.GetBytes(Body.Replace("\n  ", "", StringComparison.Ordinal)), Secret));
        Assert.False(BtcPaySignature.IsValid(Expected, Encoding.UTF8.GetBytes(Body.Replace("Settled", "Expired", StringComparison.Ordinal)), Secret));
        Assert.False(BtcPaySignature.IsValid(Expected, Encoding.UTF8.GetBytes(Body), Secret + "x"));
    }
}
