using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Aisa.Settlement.Api.Guard.Signatures;

/// <summary>An Ed25519 public key as a JWK (RFC 8037: <c>{"kty":"OKP","crv":"Ed25519","x":…}</c>) and its RFC 7638 thumbprint, the key id.</summary>
public sealed record Ed25519Jwk(byte[] PublicKey)
{
    public string X => Base64Url(PublicKey);

    /// <summary>RFC 7638: SHA-256 over the required members in lexicographic order, without whitespace; base64url.</summary>
    public string Thumbprint => Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes($"{{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"{X}\"}}")));

    public PublicJwk ToPublicJwk() => new("OKP", "Ed25519", X, Thumbprint);

    /// <summary>The key of a JWK object, or what is wrong with it. A JWK holding the private part (<c>d</c>) is refused: it must never be sent.</summary>
    public static (Ed25519Jwk? Key, string? Problem) Parse(JsonElement jwk)
    {
        if (jwk.ValueKind != JsonValueKind.Object)
        {
            return (null, "jwk is a JSON Web Key object.");
        }
        if (jwk.TryGetProperty("d", out _))
        {
            return (null, "This JWK holds the private key (d): never send it anywhere. Generate a new key pair and register only its public part.");
        }
        string? Member(string name) => jwk.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        if (Member("kty") != "OKP" || Member("crv") != "Ed25519")
        {
            return (null, "jwk is an Ed25519 public key: kty \"OKP\", crv \"Ed25519\".");
        }
        var x = TryBase64Url(Member("x"));
        if (x is null || x.Length != Ed25519.PublicKeySize || !Ed25519.ValidatePublicKeyFull(x, 0))
        {
            return (null, "jwk.x is the 32-byte Ed25519 public key, base64url: this one is not a valid point.");
        }
        return (new Ed25519Jwk(x), null);
    }

    public bool Verifies(string signatureBase, byte[] signature) =>
        signature.Length == Ed25519.SignatureSize && Ed25519.Verify(signature, 0, PublicKey, 0, Encoding.ASCII.GetBytes(signatureBase), 0, Encoding.ASCII.GetByteCount(signatureBase));

    public static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    public static byte[]? TryBase64Url(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > 512)
        {
            return null;
        }
        try
        {
            return System.Buffers.Text.Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>An Ed25519 public key as a JWK (RFC 8037), its key id the RFC 7638 thumbprint.</summary>
public sealed record PublicJwk(string Kty, string Crv, string X, string Kid);
