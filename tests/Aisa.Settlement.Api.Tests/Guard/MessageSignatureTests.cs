using System.Text.Json;
using Aisa.Settlement.Api.Guard.Signatures;

namespace Aisa.Settlement.Api.Tests.Guard;

/// <summary>RFC 9421's own Ed25519 test vector (Appendix B.2.6, key B.1.4), and the structured-field rules the parsing follows.</summary>
public sealed class MessageSignatureTests
{
    // RFC 9421 B.1.4 test-key-ed25519, public part.
    private const string TestKeyX = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs";

    private const string B26Input = "sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"";
    private const string B26Signature = "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:";

    private const string B26Base =
        "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n" +
        "\"@method\": POST\n" +
        "\"@path\": /foo\n" +
        "\"@authority\": example.com\n" +
        "\"content-type\": application/json\n" +
        "\"content-length\": 18\n" +
        "\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"";

    // The B.2 test request, as far as the covered components see it.
    private static readonly Dictionary<string, string> B2Request = new()
    {
        ["date"] = "Tue, 20 Apr 2021 02:07:55 GMT",
        ["@method"] = "POST",
        ["@path"] = "/foo",
        ["@authority"] = "example.com",
        ["content-type"] = "application/json",
        ["content-length"] = "18",
    };

    private static Ed25519Jwk TestKey() =>
        Ed25519Jwk.Parse(JsonDocument.Parse($"{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"{TestKeyX}\"}}").RootElement).Key!;

    [Fact]
    public void The_B_2_6_signature_base_is_rebuilt_byte_for_byte_and_its_signature_verifies_with_the_B_1_4_key()
    {
        var (signature, problem) = WebBotAuth.Read(B26Input, B26Signature, "sig-b26");

        Assert.Null(problem);
        var signatureBase = signature!.Base(name => B2Request.GetValueOrDefault(name));
        Assert.Equal(B26Base, signatureBase);
        Assert.True(TestKey().Verifies(signatureBase!, signature.Signature));
        Assert.Equal(1618884473, signature.Created);
        Assert.Equal("test-key-ed25519", signature.KeyId);
    }

    [Fact]
    public void A_changed_component_or_a_changed_parameter_no_longer_verifies()
    {
        var (signature, _) = WebBotAuth.Read(B26Input, B26Signature, "sig-b26");
        var otherPath = signature!.Base(name => name == "@path" ? "/bar" : B2Request.GetValueOrDefault(name));
        var (later, _) = WebBotAuth.Read(B26Input.Replace("1618884473", "1618884474", StringComparison.Ordinal), B26Signature, "sig-b26");

        Assert.False(TestKey().Verifies(otherPath!, signature.Signature));
        Assert.False(TestKey().Verifies(later!.Base(name => B2Request.GetValueOrDefault(name))!, later.Signature));
        Assert.Null(signature.Base(name => name == "content-length" ? null : B2Request.GetValueOrDefault(name)));
    }

    [Fact]
    public void The_key_id_is_the_RFC_7638_thumbprint_and_a_private_or_foreign_key_is_refused()
    {
        // RFC 8037 appendix A.3: the thumbprint of the Ed25519 key of A.2.
        var rfc8037 = Ed25519Jwk.Parse(JsonDocument.Parse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}").RootElement).Key!;
        var withPrivate = Ed25519Jwk.Parse(JsonDocument.Parse($"{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"{TestKeyX}\",\"d\":\"n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU\"}}").RootElement);
        var rsa = Ed25519Jwk.Parse(JsonDocument.Parse("{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}").RootElement);
        var shortKey = Ed25519Jwk.Parse(JsonDocument.Parse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}").RootElement);

        Assert.Equal("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", rfc8037.Thumbprint);
        Assert.Null(withPrivate.Key);
        Assert.Contains("private key", withPrivate.Problem, StringComparison.Ordinal);
        Assert.Null(rsa.Key);
        Assert.Null(shortKey.Key);
    }

    [Theory]
    [InlineData("sig1=(\"@authority\" \"@path\")", "sig1=:AAAA:", true)]
    [InlineData("sig1=(\"@authority\"  \"@path\");created=1;tag=\"web-bot-auth\"", "sig1=:AAAA:", true)]
    [InlineData("sig1=(\"@authority\" \"@path\";bs)", "sig1=:AAAA:", false)]
    [InlineData("sig1=(\"@authority\",\"@path\")", "sig1=:AAAA:", false)]
    [InlineData("sig1=(\"@authority\");created=1.5", "sig1=:AAAA:", false)]
    [InlineData("sig1=(\"@authority\");created=1,", "sig1=:AAAA:", false)]
    [InlineData("Sig1=(\"@authority\")", "Sig1=:AAAA:", false)]
    [InlineData("sig1=(\"@authority\")", "sig1=:not base64!:", false)]
    [InlineData("sig1=(\"@authority\")", "sig2=:AAAA:", false)]
    public void Malformed_fields_are_refused_whole(string input, string signature, bool readable)
    {
        var (read, problem) = WebBotAuth.Read(input, signature, "sig1");

        Assert.Equal(readable, read is not null);
        Assert.Equal(readable, problem is null);
    }

    [Fact]
    public void Parameters_are_serialized_canonically_in_the_order_sent()
    {
        var (read, _) = WebBotAuth.Read("sig1=( \"@authority\" \"@path\" );created=1;keyid=\"k\\\"1\";alg=\"ed25519\";expires=2;nonce=\"n\";tag=\"web-bot-auth\"", "sig1=:AAAA:");

        Assert.Equal("(\"@authority\" \"@path\");created=1;keyid=\"k\\\"1\";alg=\"ed25519\";expires=2;nonce=\"n\";tag=\"web-bot-auth\"",
            StructuredFields.SerializeInnerList(read!.Input));
    }
}
