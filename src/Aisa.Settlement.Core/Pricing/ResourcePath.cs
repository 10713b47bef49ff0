using System.Text;

namespace Aisa.Settlement.Pricing;

/// <summary>
/// One spelling for every way of writing the same resource, as RFC 3986 section 6 compares URIs: percent-encoded
/// unreserved characters decoded and the others' hex in upper case (6.2.2.1–2), dot segments removed (6.2.2.3), and
/// repeated slashes folded into one (a path a web server treats alike). What cannot be normalised without changing the
/// resource is refused: an encoded <c>/</c> or <c>\</c>, an encoded control character, a <c>%</c> without two hex digits,
/// a path that climbs above the root. Paths stay case-sensitive.
/// </summary>
public static class ResourcePath
{
    private const string Unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

    /// <summary>The normalised path (it starts with <c>/</c>, or <c>*</c> in a rule's pattern), or the problem with it.</summary>
    public static bool TryNormalizePath(string path, out string normalized, out string? problem)
    {
        normalized = path;
        if (!TryNormalizeEncoding(path, inPath: true, out var decoded, out problem))
        {
            return false;
        }
        var builder = new StringBuilder(decoded.Length);
        foreach (var c in decoded)
        {
            if (c == '/' && builder.Length > 0 && builder[^1] == '/')
            {
                continue;
            }
            builder.Append(c);
        }
        var folded = builder.ToString();
        var root = folded.StartsWith('/') ? "/" : "";
        var segments = folded[root.Length..].Split('/');
        var kept = new List<string>(segments.Length);
        var endsInDirectory = false;
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            var last = i == segments.Length - 1;
            switch (segment)
            {
                case ".":
                    endsInDirectory = last;
                    break;
                case "..":
                    if (kept.Count == 0)
                    {
                        problem = "resourceUrl climbs above the root with '..'.";
                        return false;
                    }
                    kept.RemoveAt(kept.Count - 1);
                    endsInDirectory = last;
                    break;
                default:
                    kept.Add(segment);
                    endsInDirectory = false;
                    break;
            }
        }
        normalized = root + string.Join('/', kept) + (endsInDirectory && kept.Count > 0 ? "/" : "");
        return true;
    }

    /// <summary>A query with its percent-encoding normalised (its order and its characters otherwise kept), or the problem.</summary>
    public static bool TryNormalizeQuery(string query, out string normalized, out string? problem) =>
        TryNormalizeEncoding(query, inPath: false, out normalized, out problem);

    private static bool TryNormalizeEncoding(string text, bool inPath, out string normalized, out string? problem)
    {
        normalized = text;
        problem = null;
        if (text.IndexOf('%') < 0)
        {
            return true;
        }
        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '%')
            {
                builder.Append(text[i]);
                continue;
            }
            if (i + 2 >= text.Length || !char.IsAsciiHexDigit(text[i + 1]) || !char.IsAsciiHexDigit(text[i + 2]))
            {
                problem = "resourceUrl has a '%' that is not followed by two hex digits.";
                return false;
            }
            var value = (char)Convert.ToByte(text.Substring(i + 1, 2), 16);
            if (inPath && value is '/' or '\\')
            {
                problem = "resourceUrl's path has an encoded '/' or '\\' (%2F, %5C): it cannot be compared safely with the rules.";
                return false;
            }
            if (inPath && (value < 0x20 || value == 0x7F))
            {
                problem = "resourceUrl's path has an encoded control character.";
                return false;
            }
            if (Unreserved.Contains(value, StringComparison.Ordinal))
            {
                builder.Append(value);
            }
            else
            {
                builder.Append('%').Append(char.ToUpperInvariant(text[i + 1])).Append(char.ToUpperInvariant(text[i + 2]));
            }
            i += 2;
        }
        normalized = builder.ToString();
        return true;
    }
}
