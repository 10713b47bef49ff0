using System.Net.Mail;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Identity;

namespace Aisa.Settlement.Api.Auth;

/// <summary>Passwords through the framework's hasher (PBKDF2), and the shape rules for what people type in.</summary>
public sealed partial class Credentials
{
    public const int MinPasswordLength = 8;
    public const int MaxPasswordLength = 200;
    public const int MaxEmailLength = 254;
    public const int MaxTextLength = 200;

    private static readonly object Subject = new();
    private readonly PasswordHasher<object> _hasher = new();
    // Login of an unknown email still spends a hash, so response times do not tell which emails exist.
    private readonly string _dummyHash;

    public Credentials() => _dummyHash = _hasher.HashPassword(Subject, "not-a-password-of-anyone");

    public string Hash(string password) => _hasher.HashPassword(Subject, password);

    public bool Verify(string? hash, string password)
    {
        var result = _hasher.VerifyHashedPassword(Subject, hash ?? _dummyHash, password);
        return hash is not null && result != PasswordVerificationResult.Failed;
    }

    /// <summary>The normalised (lowercase) email, or null when it is not one.</summary>
    public static string? NormalizeEmail(string? email)
    {
        if (string.IsNullOrWhiteSpace(email) || email.Length > MaxEmailLength || email.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return null;
        }
        if (!MailAddress.TryCreate(email, out var address) || address.Address != email || !address.Host.Contains('.', StringComparison.Ordinal))
        {
            return null;
        }
        return email.ToLowerInvariant();
    }

    public static string? PasswordProblem(string? password) =>
        password is null || password.Length < MinPasswordLength
            ? $"The password has at least {MinPasswordLength} characters."
            : password.Length > MaxPasswordLength ? $"The password has at most {MaxPasswordLength} characters." : null;

    /// <summary>A lowercase host name (publisher.example), or null.</summary>
    public static string? NormalizeDomain(string? domain)
    {
        if (string.IsNullOrWhiteSpace(domain) || domain.Length > 253)
        {
            return null;
        }
        var lower = domain.Trim().ToLowerInvariant();
        return DomainPattern().IsMatch(lower) ? lower : null;
    }

    /// <summary>
    /// Optional free text (a name, a company, a user agent): trimmed, bounded, no control characters and no
    /// markup (angle brackets), so nothing stored here can become HTML on a dashboard.
    /// </summary>
    public static bool TryOptionalText(string? text, int maxLength, out string? cleaned)
    {
        cleaned = string.IsNullOrWhiteSpace(text) ? null : text.Trim();
        return cleaned is null || (cleaned.Length <= maxLength && !cleaned.Any(c => char.IsControl(c) || c is '<' or '>'));
    }

    /// <summary>
    /// A user agent as bots send it: printable ASCII, bounded, without quotes, backslashes or markup — nothing a
    /// real user agent needs, and everything an injection attempt does.
    /// </summary>
    public static bool TryUserAgent(string? text, out string? cleaned)
    {
        cleaned = string.IsNullOrWhiteSpace(text) ? null : text.Trim();
        return cleaned is null || (cleaned.Length <= 500 && cleaned.All(c => c is >= ' ' and <= '~' and not ('<' or '>' or '"' or '\'' or '`' or '\\')));
    }

    /// <summary>A crawler type names a bot family: letters, digits and - _ . only.</summary>
    public static bool IsCrawlerType(string? text) => text is null || CrawlerTypePattern().IsMatch(text);

    [GeneratedRegex("^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$")]
    private static partial Regex DomainPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex CrawlerTypePattern();
}
