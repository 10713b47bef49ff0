using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Aisa.Settlement.Adapters.Lightning.Lnd;

namespace Aisa.Settlement.Adapters.Lightning.Tests.Lnd;

public sealed class CertificatePinTests
{
    private static X509Certificate2 SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    [Fact]
    public void Only_the_certificate_whose_DER_bytes_hash_to_the_pin_is_trusted()
    {
        using var lnd = SelfSigned("lnd");
        using var impostor = SelfSigned("lnd");
        var pin = SHA256.HashData(lnd.RawData);

        Assert.True(CertificatePin.Matches(lnd, pin));
        Assert.False(CertificatePin.Matches(impostor, pin));
        Assert.False(CertificatePin.Matches(null, pin));
        var validator = CertificatePin.Validator(pin);
        Assert.True(validator(this, lnd, null, System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(validator(this, impostor, null, System.Net.Security.SslPolicyErrors.None));
    }

    [Fact]
    public void A_pin_is_read_from_hex_with_or_without_colons()
    {
        using var lnd = SelfSigned("lnd");
        var hex = Convert.ToHexString(SHA256.HashData(lnd.RawData));
        var colons = string.Join(":", hex.Chunk(2).Select(c => new string(c)));

        Assert.Equal(SHA256.HashData(lnd.RawData), new LndOptions { TlsCertificateThumbprint = colons.ToLowerInvariant() }.PinnedThumbprint);
        Assert.Null(new LndOptions { TlsCertificateThumbprint = " " }.PinnedThumbprint);
        Assert.Empty(new LndOptions { RestUrl = "https://lnd:8080/", MacaroonHex = "0201", RateUrl = "https://rate/", RateJsonPath = "bitcoin.usd", TlsCertificateThumbprint = colons }.Validate("Lnd"));
        Assert.Single(new LndOptions { RestUrl = "https://lnd:8080/", MacaroonHex = "0201", RateUrl = "https://rate/", RateJsonPath = "bitcoin.usd", TlsCertificateThumbprint = hex[..62] }.Validate("Lnd"));
    }
}
