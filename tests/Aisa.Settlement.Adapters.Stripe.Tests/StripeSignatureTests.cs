using System.Globalization;
using System.Text;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Adapters.Stripe.Tests;

/// <summary>Webhook signatures made by the official Stripe library (stripe npm, generateTestHeaderString), checked by ours.</summary>
public sealed class StripeSignatureTests : IDisposable
{
    private const string Secret = "whsec_test_secret_for_integration_tests";
    private const string Payload = """{"id":"evt_1Q","object":"event","type":"checkout.session.completed","data":{"object":{"id":"cs_test_a1B2c3D4","amount_total":1250,"currency":"usd","payment_status":"paid"}}}""";
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_790_000_000);
    private readonly string _file = Path.GetTempFileName();

    public StripeSignatureTests() => File.WriteAllText(_file, Payload, new UTF8Encoding(false));

    public void Dispose() => File.Delete(_file);

    private async Task<string> SignAsync(string secret, DateTimeOffset at) =>
        await NodePeers.RunAsync("stripe-sign.mjs", _file, secret, at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));

    private static SignatureCheck Check(string? header, string body, params string[] secrets) =>
        StripeSignature.Check(header, Encoding.UTF8.GetBytes(body), secrets, Now, StripeSignature.DefaultTolerance);

    [Fact]
    public async Task A_delivery_signed_by_Stripe_now_is_valid_and_any_change_or_age_is_refused()
    {
        var header = await SignAsync(Secret, Now.AddSeconds(-10));

        Assert.Equal(SignatureCheck.Valid, Check(header, Payload, Secret));
        Assert.Equal(SignatureCheck.NoMatch, Check(header, Payload.Replace("1250", "9250", StringComparison.Ordinal), Secret));
        Assert.Equal(SignatureCheck.NoMatch, Check(header, Payload + " ", Secret));
        Assert.Equal(SignatureCheck.NoMatch, Check(header, Payload, "whsec_another_secret"));
        Assert.Equal(SignatureCheck.OutsideTolerance, Check(await SignAsync(Secret, Now.AddSeconds(-301)), Payload, Secret));
        Assert.Equal(SignatureCheck.OutsideTolerance, Check(await SignAsync(Secret, Now.AddSeconds(301)), Payload, Secret));
        Assert.Equal(SignatureCheck.Valid, Check(await SignAsync(Secret, Now.AddSeconds(-299)), Payload, Secret));
    }

    [Fact]
    public async Task While_a_secret_is_rolled_either_secret_and_any_of_several_signatures_verify()
    {
        var old = await SignAsync("whsec_old_secret", Now);
        var current = await SignAsync(Secret, Now);
        // Stripe sends one v1 per active secret in a single header.
        var both = old + ",v1=" + current.Split("v1=")[1];

        Assert.Equal(SignatureCheck.Valid, Check(old, Payload, Secret, "whsec_old_secret"));
        Assert.Equal(SignatureCheck.Valid, Check(both, Payload, Secret));
        Assert.Equal(SignatureCheck.Valid, Check(both, Payload, "whsec_old_secret"));
        Assert.Equal(SignatureCheck.NoMatch, Check(both, Payload, "whsec_third"));
    }

    [Theory]
    [InlineData(null, SignatureCheck.Missing)]
    [InlineData("", SignatureCheck.Missing)]
    [InlineData("t=1790000000", SignatureCheck.Malformed)]
    [InlineData("v1=d09307a55bae07decf7f11852ba66a75b520d4406033a8d46dcb0b16ce6c6de7", SignatureCheck.Malformed)]
    [InlineData("t=abc,v1=d09307a55bae07decf7f11852ba66a75b520d4406033a8d46dcb0b16ce6c6de7", SignatureCheck.Malformed)]
    [InlineData("t=1790000000,v1=not-hex", SignatureCheck.Malformed)]
    [InlineData("t=1790000000,v0=d09307a55bae07decf7f11852ba66a75b520d4406033a8d46dcb0b16ce6c6de7", SignatureCheck.Malformed)]
    [InlineData("garbage", SignatureCheck.Malformed)]
    public void A_missing_or_malformed_header_is_named(string? header, SignatureCheck expected) =>
        Assert.Equal(expected, Check(header, Payload, Secret));
}
