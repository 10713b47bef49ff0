using System.Security.Cryptography;
using System.Text;

namespace Aisa.Settlement.Identity;

/// <summary>
/// Bearer secrets (crawler tokens, session tokens): 256 random bits, shown once, stored only as SHA-256.
/// A fast hash is right here, unlike for passwords: the secret has full entropy, so nothing can be guessed.
/// </summary>
public static class Secrets
{
    public const string CrawlerTokenPrefix = "aisa_crawler_";
    public const string SessionTokenPrefix = "aisa_session_";

    public static string NewCrawlerToken() => CrawlerTokenPrefix + RandomHex();

    public static string NewSessionToken() => SessionTokenPrefix + RandomHex();

    /// <summary><c>aisa_crawler_</c> and 64 lowercase hex characters, nothing else.</summary>
    public static bool IsCrawlerTokenShaped(string? token) =>
        token is { Length: 77 } && token.StartsWith(CrawlerTokenPrefix, StringComparison.Ordinal) && token.AsSpan(CrawlerTokenPrefix.Length).IndexOfAnyExcept("0123456789abcdef") < 0;

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string RandomHex() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
}
