using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aisa.Settlement.Money;

/// <summary>
/// An amount of US dollars in integer micros (1 micro = 0.000001 USD), the only unit money is kept in.
/// USDC's atomic unit is exactly one micro. Arithmetic is checked: an overflow is a bug, never a wrap.
/// </summary>
[JsonConverter(typeof(MicrosJsonConverter))]
public readonly record struct Micros(long Value) : IComparable<Micros>
{
    public const long PerDollar = 1_000_000;
    public const int Decimals = 6;

    public static readonly Micros Zero = new(0);

    /// <summary>Micros in one cent: card amounts (Stripe's minor units) are whole cents.</summary>
    public const long PerCent = 10_000;

    public static Micros FromCents(long cents) => new(checked(cents * PerCent));

    public static Micros operator +(Micros a, Micros b) => new(checked(a.Value + b.Value));
    public static Micros operator -(Micros a, Micros b) => new(checked(a.Value - b.Value));
    public static Micros operator -(Micros a) => new(checked(-a.Value));
    public static bool operator <(Micros a, Micros b) => a.Value < b.Value;
    public static bool operator >(Micros a, Micros b) => a.Value > b.Value;
    public static bool operator <=(Micros a, Micros b) => a.Value <= b.Value;
    public static bool operator >=(Micros a, Micros b) => a.Value >= b.Value;

    public int CompareTo(Micros other) => Value.CompareTo(other.Value);

    public bool IsPositive => Value > 0;

    /// <summary>Exact conversion from a decimal USD amount; fails on a fraction of a micro or an out-of-range value.</summary>
    public static bool TryFromUsd(decimal usd, out Micros micros)
    {
        micros = Zero;
        decimal scaled;
        try
        {
            scaled = usd * PerDollar;
        }
        catch (OverflowException)
        {
            return false;
        }
        if (scaled != decimal.Truncate(scaled) || scaled > long.MaxValue || scaled < long.MinValue)
        {
            return false;
        }
        micros = new Micros((long)scaled);
        return true;
    }

    public static Micros FromUsd(decimal usd) =>
        TryFromUsd(usd, out var micros)
            ? micros
            : throw new ArgumentOutOfRangeException(nameof(usd), usd, "Not a whole number of micros of USD.");

    /// <summary>The exact USD value, with the fewest decimals that state it (0.01, 5, 0.000001).</summary>
    public decimal ToUsd() => decimal.Parse(ToAmountString(), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);

    /// <summary>The JSON amount format: a plain decimal with the fewest decimals that state it ("0.01", "5").</summary>
    public string ToAmountString() => ToDecimalString(minDecimals: 0);

    /// <summary>The balance format of the AISA API: always six decimals ("5.000000").</summary>
    public string ToBalanceString() => ToDecimalString(minDecimals: Decimals);

    /// <summary>The price format of the AISA and Cloudflare headers: "USD 0.10", at least two decimals.</summary>
    public string ToPriceString() => "USD " + ToDecimalString(minDecimals: 2);

    public override string ToString() => ToPriceString();

    private string ToDecimalString(int minDecimals)
    {
        // Integer arithmetic only: a decimal or double in between could round.
        var negative = Value < 0;
        var magnitude = negative ? -(Int128)Value : Value;
        var whole = magnitude / PerDollar;
        var fraction = (magnitude % PerDollar).ToString("D6", CultureInfo.InvariantCulture);
        var keep = fraction.Length;
        while (keep > minDecimals && fraction[keep - 1] == '0')
        {
            keep--;
        }
        var text = whole.ToString(CultureInfo.InvariantCulture) + (keep > 0 ? "." + fraction[..keep] : "");
        return negative ? "-" + text : text;
    }

    /// <summary>
    /// Parses a non-negative USD decimal ("0.10", "5", "12.345678") exactly. No sign, exponent, spaces,
    /// thousands separators, or more than six decimals.
    /// </summary>
    public static bool TryParseDecimal(ReadOnlySpan<char> text, out Micros micros)
    {
        micros = Zero;
        if (text.IsEmpty || text.Length > 32)
        {
            return false;
        }
        var dot = text.IndexOf('.');
        var wholePart = dot < 0 ? text : text[..dot];
        var fractionPart = dot < 0 ? ReadOnlySpan<char>.Empty : text[(dot + 1)..];
        if (wholePart.IsEmpty || !IsDigits(wholePart) || (dot >= 0 && (fractionPart.IsEmpty || !IsDigits(fractionPart))))
        {
            return false;
        }
        if (fractionPart.Length > Decimals)
        {
            return false;
        }
        if (!long.TryParse(wholePart, NumberStyles.None, CultureInfo.InvariantCulture, out var whole))
        {
            return false;
        }
        long fraction = 0;
        for (var i = 0; i < Decimals; i++)
        {
            fraction = fraction * 10 + (i < fractionPart.Length ? fractionPart[i] - '0' : 0);
        }
        try
        {
            micros = new Micros(checked(whole * PerDollar + fraction));
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    /// <summary>
    /// Parses a price string: "USD 0.10" (AISA and Cloudflare) or "100000 micros USD" (CrawlerToll).
    /// The currency must be USD; the amount non-negative and a whole number of micros.
    /// </summary>
    public static bool TryParsePrice(string? text, out Micros micros)
    {
        micros = Zero;
        if (text is null)
        {
            return false;
        }
        var span = text.AsSpan().Trim();
        if (span.StartsWith("USD ", StringComparison.Ordinal))
        {
            return TryParseDecimal(span[4..], out micros);
        }
        const string microsSuffix = " micros USD";
        if (span.EndsWith(microsSuffix, StringComparison.Ordinal))
        {
            var digits = span[..^microsSuffix.Length];
            if (digits.IsEmpty || !IsDigits(digits) || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return false;
            }
            micros = new Micros(value);
            return true;
        }
        return false;
    }

    private static bool IsDigits(ReadOnlySpan<char> span)
    {
        foreach (var c in span)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>JSON amounts are numbers in USD, read and written exactly from micros (0.01, never 0.010000001).</summary>
public sealed class MicrosJsonConverter : JsonConverter<Micros>
{
    public override Micros Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.Number)
        {
            throw new JsonException("An amount must be a JSON number of US dollars.");
        }
        var raw = reader.HasValueSequence ? System.Text.Encoding.UTF8.GetString(System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence)) : System.Text.Encoding.UTF8.GetString(reader.ValueSpan);
        var negative = raw.StartsWith('-');
        if (!Micros.TryParseDecimal(negative ? raw.AsSpan(1) : raw.AsSpan(), out var micros))
        {
            throw new JsonException("An amount must be a whole number of micros of USD (at most six decimals, no exponent).");
        }
        return negative ? -micros : micros;
    }

    public override void Write(Utf8JsonWriter writer, Micros value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.ToAmountString(), skipInputValidation: true);
}
