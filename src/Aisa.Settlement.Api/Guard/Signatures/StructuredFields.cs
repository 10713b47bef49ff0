using System.Globalization;
using System.Text;

namespace Aisa.Settlement.Api.Guard.Signatures;

/// <summary>A token of RFC 8941 (a bare word such as <c>sha-256</c>), told apart from a string.</summary>
public sealed record SfToken(string Value);

/// <summary>An item or an inner list with its parameters, in the order they were sent.</summary>
public sealed record SfMember(object? Item, IReadOnlyList<SfMember>? InnerList, IReadOnlyList<KeyValuePair<string, object>> Parameters)
{
    public object? Parameter(string name) => Parameters.LastOrDefault(p => p.Key == name).Value;
}

/// <summary>
/// The part of RFC 8941 (Structured Field Values) that HTTP Message Signatures use: dictionaries of inner lists and
/// items, with integers, strings, tokens, booleans and byte sequences (decimals are refused: no signature field has one).
/// Parsing is strict, as the RFC asks: anything malformed fails the whole field.
/// </summary>
public static class StructuredFields
{
    public static IReadOnlyList<KeyValuePair<string, SfMember>>? ParseDictionary(string text)
    {
        var parser = new Parser(text);
        try
        {
            var members = parser.Dictionary();
            return members;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The canonical serialization of an inner list with its parameters (RFC 8941 §4.1.1.1), as <c>@signature-params</c> takes it.</summary>
    public static string SerializeInnerList(SfMember member)
    {
        var text = new StringBuilder("(");
        text.AppendJoin(' ', member.InnerList!.Select(item => BareItem(item.Item!) + Parameters(item.Parameters)));
        text.Append(')').Append(Parameters(member.Parameters));
        return text.ToString();
    }

    private static string Parameters(IReadOnlyList<KeyValuePair<string, object>> parameters) =>
        string.Concat(parameters.Select(p => p.Value is true ? ";" + p.Key : $";{p.Key}={BareItem(p.Value)}"));

    private static string BareItem(object value) => value switch
    {
        long number => number.ToString(CultureInfo.InvariantCulture),
        string text => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        SfToken token => token.Value,
        bool flag => flag ? "?1" : "?0",
        byte[] bytes => ":" + Convert.ToBase64String(bytes) + ":",
        _ => throw new FormatException("Not a structured field value."),
    };

    private sealed class Parser(string text)
    {
        private int _at;

        private char Peek => _at < text.Length ? text[_at] : '\0';

        private bool AtEnd => _at >= text.Length;

        public List<KeyValuePair<string, SfMember>> Dictionary()
        {
            var members = new List<KeyValuePair<string, SfMember>>();
            SkipSpaces();
            while (!AtEnd)
            {
                var key = Key();
                SfMember member;
                if (Peek == '=')
                {
                    _at++;
                    member = ItemOrInnerList();
                }
                else
                {
                    member = new SfMember(true, null, Params());
                }
                members.RemoveAll(m => m.Key == key);
                members.Add(new(key, member));
                SkipWhitespace();
                if (AtEnd)
                {
                    return members;
                }
                Expect(',');
                SkipWhitespace();
                if (AtEnd)
                {
                    throw new FormatException("A dictionary does not end with a comma.");
                }
            }
            return members;
        }

        private SfMember ItemOrInnerList()
        {
            if (Peek != '(')
            {
                return new SfMember(Bare(), null, Params());
            }
            _at++;
            var items = new List<SfMember>();
            while (true)
            {
                SkipSpaces();
                if (Peek == ')')
                {
                    _at++;
                    return new SfMember(null, items, Params());
                }
                items.Add(new SfMember(Bare(), null, Params()));
                if (Peek is not (' ' or ')'))
                {
                    throw new FormatException("Inner list items are separated by spaces.");
                }
            }
        }

        private List<KeyValuePair<string, object>> Params()
        {
            var parameters = new List<KeyValuePair<string, object>>();
            while (Peek == ';')
            {
                _at++;
                SkipSpaces();
                var key = Key();
                object value = true;
                if (Peek == '=')
                {
                    _at++;
                    value = Bare();
                }
                parameters.RemoveAll(p => p.Key == key);
                parameters.Add(new(key, value));
            }
            return parameters;
        }

        private string Key()
        {
            var start = _at;
            if (!(Peek is (>= 'a' and <= 'z') or '*'))
            {
                throw new FormatException("A key starts with a lowercase letter or '*'.");
            }
            while (Peek is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-' or '.' or '*')
            {
                _at++;
            }
            return text[start.._at];
        }

        private object Bare()
        {
            switch (Peek)
            {
                case '-' or (>= '0' and <= '9'):
                    var start = _at;
                    if (Peek == '-')
                    {
                        _at++;
                    }
                    while (Peek is >= '0' and <= '9')
                    {
                        _at++;
                    }
                    var digits = text[start.._at];
                    if (Peek == '.' || digits.TrimStart('-').Length is 0 or > 15)
                    {
                        throw new FormatException("Integers have 1 to 15 digits; decimals are not used here.");
                    }
                    return long.Parse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                case '"':
                    _at++;
                    var value = new StringBuilder();
                    while (true)
                    {
                        if (AtEnd)
                        {
                            throw new FormatException("A string is not closed.");
                        }
                        var c = text[_at++];
                        if (c == '\\')
                        {
                            var escaped = AtEnd ? '\0' : text[_at++];
                            if (escaped is not ('"' or '\\'))
                            {
                                throw new FormatException("Only \\\" and \\\\ are escapes.");
                            }
                            value.Append(escaped);
                        }
                        else if (c == '"')
                        {
                            return value.ToString();
                        }
                        else if (c is < ' ' or > '~')
                        {
                            throw new FormatException("Strings are printable ASCII.");
                        }
                        else
                        {
                            value.Append(c);
                        }
                    }
                case ':':
                    _at++;
                    var end = text.IndexOf(':', _at);
                    if (end < 0)
                    {
                        throw new FormatException("A byte sequence is not closed.");
                    }
                    var base64 = text[_at..end];
                    _at = end + 1;
                    try
                    {
                        return Convert.FromBase64String(base64);
                    }
                    catch (FormatException)
                    {
                        throw new FormatException("A byte sequence is base64.");
                    }
                case '?':
                    _at++;
                    var flag = Peek;
                    _at++;
                    return flag switch
                    {
                        '1' => true,
                        '0' => false,
                        _ => throw new FormatException("A boolean is ?0 or ?1."),
                    };
                case (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '*':
                    var tokenStart = _at;
                    while (Peek is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~' or ':' or '/')
                    {
                        _at++;
                    }
                    return new SfToken(text[tokenStart.._at]);
                default:
                    throw new FormatException("Not a structured field item.");
            }
        }

        private void Expect(char c)
        {
            if (Peek != c)
            {
                throw new FormatException($"Expected '{c}'.");
            }
            _at++;
        }

        private void SkipSpaces()
        {
            while (Peek == ' ')
            {
                _at++;
            }
        }

        private void SkipWhitespace()
        {
            while (Peek is ' ' or '\t')
            {
                _at++;
            }
        }
    }
}
