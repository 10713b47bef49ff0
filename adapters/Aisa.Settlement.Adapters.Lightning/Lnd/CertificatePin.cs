using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Aisa.Settlement.Adapters.Lightning.Lnd;

/// <summary>
/// Trust in exactly one certificate, by the SHA-256 of its DER bytes: LND serves a self-signed one that no authority vouches
/// for, so the operator pins it (<c>openssl x509 -in tls.cert -outform der | sha256sum</c>). Name and expiry do not matter;
/// the bytes do.
/// </summary>
public static class CertificatePin
{
    public static bool Matches(X509Certificate? certificate, byte[] thumbprint) =>
        certificate is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(certificate.GetRawCertData()), thumbprint);

    public static RemoteCertificateValidationCallback Validator(byte[] thumbprint) => (_, certificate, _, _) => Matches(certificate, thumbprint);
}
