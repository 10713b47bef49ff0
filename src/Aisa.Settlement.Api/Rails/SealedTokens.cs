using System.Security.Cryptography;
using Aisa.Settlement.Rails;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;

namespace Aisa.Settlement.Api.Rails;

/// <summary>
/// Tokens sealed with ASP.NET Core Data Protection (authenticated encryption), one protector per purpose, under the key ring
/// kept in the database: every instance opens what another sealed, and old keys keep opening what they sealed.
/// </summary>
public sealed class SealedTokens(IDataProtectionProvider protection) : ISealedTokens
{
    public string Seal(string purpose, byte[] content) => WebEncoders.Base64UrlEncode(protection.CreateProtector(purpose).Protect(content));

    public byte[]? Open(string purpose, string token)
    {
        try
        {
            return protection.CreateProtector(purpose).Unprotect(WebEncoders.Base64UrlDecode(token));
        }
        catch (Exception e) when (e is CryptographicException or FormatException)
        {
            return null;
        }
    }
}
