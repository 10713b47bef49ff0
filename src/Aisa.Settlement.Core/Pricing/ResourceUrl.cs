namespace Aisa.Settlement.Pricing;

/// <summary>
/// The resource a verify asks about: a path (<c>/article/1?x=1</c>) or an absolute URL, of which only the path
/// and query count, normalised (<see cref="ResourcePath"/>) so that every spelling of one resource is one resource.
/// Rules match the path; a one-time purchase is of the path with its query.
/// </summary>
public sealed record ResourceUrl(string Path, string PathAndQuery)
{
    public const int MaxLength = 2048;

    public static bool TryParse(string text, out ResourceUrl resource, out string? problem)
    {
        resource = new ResourceUrl("/", "/");
        problem = null;
        if (text.Length > MaxLength)
        {
            problem = $"resourceUrl is at most {MaxLength} characters.";
            return false;
        }
        if (!UriCharacters.AreValid(text))
        {
            problem = "resourceUrl is a URL: spaces, quotes, angle brackets and other characters outside RFC 3986 are percent-encoded.";
            return false;
        }
        if (AsSent(text) is not var (_, pathAndQuery))
        {
            problem = "resourceUrl is a path starting with '/' or an absolute http(s) URL.";
            return false;
        }
        var query = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        var rawPath = query >= 0 ? pathAndQuery[..query] : pathAndQuery;
        var rawQuery = query >= 0 ? pathAndQuery[query..] : "";
        if (!ResourcePath.TryNormalizePath(rawPath, out var path, out problem) || !ResourcePath.TryNormalizeQuery(rawQuery, out var normalizedQuery, out problem))
        {
            return false;
        }
        resource = new ResourceUrl(path, path + normalizedQuery);
        return true;
    }

    /// <summary>
    /// The URL's own host (null for a bare path) and its path and query as sent, without the fragment: not as
    /// <see cref="Uri"/> rewrites them (it would unescape and collapse some of it but not the rest). Null when it is neither form.
    /// </summary>
    public static (Uri? Absolute, string PathAndQuery)? AsSent(string text)
    {
        string pathAndQuery;
        Uri? absolute = null;
        if (text.StartsWith('/'))
        {
            pathAndQuery = text;
        }
        else if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            absolute = uri;
            var afterAuthority = text.IndexOfAny(['/', '?', '#'], text.IndexOf("//", StringComparison.Ordinal) + 2);
            pathAndQuery = afterAuthority < 0 ? "/" : text[afterAuthority] == '/' ? text[afterAuthority..] : "/" + text[afterAuthority..];
        }
        else
        {
            return null;
        }
        var fragment = pathAndQuery.IndexOf('#', StringComparison.Ordinal);
        return (absolute, fragment >= 0 ? pathAndQuery[..fragment] : pathAndQuery);
    }
}

/// <summary>The characters a URI may hold unencoded (RFC 3986: unreserved, reserved and '%').</summary>
public static class UriCharacters
{
    private const string Allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%";

    public static bool AreValid(string text) => text.AsSpan().IndexOfAnyExcept(Allowed) < 0;
}
