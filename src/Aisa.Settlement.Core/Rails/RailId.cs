namespace Aisa.Settlement.Rails;

/// <summary>
/// A rail's name in the API, the ledger keys, the job names and the configuration (<c>base</c>, <c>stripe</c>, …): lower-case
/// letters, digits and dashes, so it can stand in a URL path and a ledger key as it is.
/// </summary>
public readonly record struct RailId
{
    public RailId(string value)
    {
        if (!IsValid(value))
        {
            throw new ArgumentException($"A rail is named by lower-case letters, digits and dashes, not \"{value}\".", nameof(value));
        }
        Value = value;
    }

    public string Value { get; }

    public static bool IsValid(string? value) =>
        value is { Length: > 0 and <= 32 } && char.IsAsciiLetterLower(value[0]) && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    public static bool TryParse(string? value, out RailId rail)
    {
        var valid = IsValid(value);
        rail = valid ? new RailId(value!) : default;
        return valid;
    }

    public override string ToString() => Value;
}
