using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Aisa.Settlement.Money;
using FsCheck;
using FsCheck.Fluent;

namespace Aisa.Settlement.Core.Tests.Money;

/// <summary>Property-based: the money type parses, prints and converts exactly, for every value FsCheck tries.</summary>
public sealed class MicrosPropertyTests
{
    private static readonly Config Thorough = Config.QuickThrowOnFailure.WithMaxTest(2_000);

    /// <summary>Any amount of micros, with the edges (0, 1, long.MaxValue) and everyday prices well represented.</summary>
    private static readonly Arbitrary<Micros> AnyNonNegative = Gen.OneOf(
            Gen.Choose(0, 1_000_000).Select(v => (long)v),
            ArbMap.Default.GeneratorFor<long>().Select(v => v == long.MinValue ? long.MaxValue : Math.Abs(v)),
            Gen.Elements(0L, 1L, 999_999L, 1_000_000L, long.MaxValue))
        .Select(v => new Micros(v))
        .ToArbitrary();

    private static readonly Arbitrary<Micros> AnySigned = Gen.OneOf(
            AnyNonNegative.Generator,
            AnyNonNegative.Generator.Select(m => -m))
        .ToArbitrary();

    [Fact]
    public void A_price_string_parses_back_to_the_same_micros() =>
        Check.One(Thorough, Prop.ForAll(AnyNonNegative, micros =>
            Micros.TryParsePrice(micros.ToPriceString(), out var parsed) && parsed == micros));

    [Fact]
    public void The_CrawlerToll_micros_form_parses_back_to_the_same_micros() =>
        Check.One(Thorough, Prop.ForAll(AnyNonNegative, micros =>
            Micros.TryParsePrice($"{micros.Value.ToString(CultureInfo.InvariantCulture)} micros USD", out var parsed) && parsed == micros));

    [Fact]
    public void A_JSON_amount_round_trips_exactly_and_is_the_plain_decimal_of_the_micros() =>
        Check.One(Thorough, Prop.ForAll(AnySigned, micros =>
        {
            var json = JsonSerializer.Serialize(micros);
            var back = JsonSerializer.Deserialize<Micros>(json);
            var asDecimal = decimal.Parse(json, NumberStyles.Float, CultureInfo.InvariantCulture);
            return back == micros && asDecimal * Micros.PerDollar == micros.Value && !json.Contains('e', StringComparison.OrdinalIgnoreCase);
        }));

    [Fact]
    public void A_balance_string_always_has_six_decimals_and_parses_back() =>
        Check.One(Thorough, Prop.ForAll(AnyNonNegative, micros =>
        {
            var text = micros.ToBalanceString();
            return text.Length - text.IndexOf('.', StringComparison.Ordinal) - 1 == 6
                && Micros.TryParseDecimal(text, out var parsed) && parsed == micros;
        }));

    [Fact]
    public void A_decimal_with_at_most_six_places_parses_to_exactly_its_value() =>
        Check.One(Thorough, Prop.ForAll(
            Gen.Choose(0, 1_000_000_000).Zip(Gen.Choose(0, 6)).Zip(Gen.Choose(0, 999_999))
                .Select(t => (Whole: t.Item1.Item1, Places: t.Item1.Item2, Fraction: t.Item2))
                .ToArbitrary(),
            t =>
            {
                var fraction = t.Places == 0 ? "" : "." + (t.Fraction % (int)Math.Pow(10, t.Places)).ToString(CultureInfo.InvariantCulture).PadLeft(t.Places, '0');
                var text = t.Whole.ToString(CultureInfo.InvariantCulture) + fraction;
                return Micros.TryParseDecimal(text, out var micros)
                    && micros.Value == decimal.Parse(text, CultureInfo.InvariantCulture) * Micros.PerDollar
                    && micros.ToUsd() == decimal.Parse(text, CultureInfo.InvariantCulture);
            }));

    [Fact]
    public void A_fraction_of_a_micro_is_refused_never_rounded() =>
        Check.One(Thorough, Prop.ForAll(
            Gen.Choose(0, 1_000_000).Zip(Gen.Choose(1, 9)).ToArbitrary(),
            t => !Micros.TryParsePrice($"USD {t.Item1}.000000{t.Item2}", out _)
                 && !Micros.TryFromUsd(t.Item1 + t.Item2 / 10_000_000m, out _)));

    [Theory]
    [InlineData("USD 0.10", 100_000)]
    [InlineData("USD 0.01", 10_000)]
    [InlineData("USD 1", 1_000_000)]
    [InlineData("USD 0.000001", 1)]
    [InlineData("250 micros USD", 250)]
    public void Known_prices_parse(string text, long expected)
    {
        Assert.True(Micros.TryParsePrice(text, out var micros));
        Assert.Equal(expected, micros.Value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("USD")]
    [InlineData("USD -0.10")]
    [InlineData("USD +0.10")]
    [InlineData("USD 0.1000001")]
    [InlineData("USD 1e-2")]
    [InlineData("USD 1,000.00")]
    [InlineData("USD .5")]
    [InlineData("USD 5.")]
    [InlineData("EUR 0.10")]
    [InlineData("usd 0.10")]
    [InlineData("USD 99999999999999999999")]
    [InlineData("-5 micros USD")]
    [InlineData("0.5 micros USD")]
    [InlineData("USD 0.10<script>")]
    public void Malformed_prices_are_refused(string text) =>
        Assert.False(Micros.TryParsePrice(text, out _));

    [Theory]
    [InlineData(100_000, "USD 0.10", "0.1", "0.100000")]
    [InlineData(10_000, "USD 0.01", "0.01", "0.010000")]
    [InlineData(5_000_000, "USD 5.00", "5", "5.000000")]
    [InlineData(1, "USD 0.000001", "0.000001", "0.000001")]
    [InlineData(-1_500_000, "USD -1.50", "-1.5", "-1.500000")]
    public void Known_amounts_print_in_each_contract_format(long value, string price, string json, string balance)
    {
        var micros = new Micros(value);
        Assert.Equal(price, micros.ToPriceString());
        Assert.Equal(json, JsonSerializer.Serialize(micros));
        Assert.Equal(balance, micros.ToBalanceString());
    }

    [Theory]
    [InlineData("\"0.10\"")]
    [InlineData("1e-2")]
    [InlineData("0.0000001")]
    [InlineData("true")]
    [InlineData("99999999999999999999")]
    public void JSON_amounts_that_are_not_a_whole_number_of_micros_are_refused(string json) =>
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Micros>(json));

    [Fact]
    public void Arithmetic_overflow_throws_instead_of_wrapping() =>
        Assert.Throws<OverflowException>(() => new Micros(long.MaxValue) + new Micros(1));
}

public sealed class TokenUnitsPropertyTests
{
    private static readonly Config Thorough = Config.QuickThrowOnFailure.WithMaxTest(2_000);

    /// <summary>uint256-sized amounts: up to 32 random bytes, plus the small ones deposits really carry.</summary>
    private static readonly Gen<BigInteger> AnyAtomicAmount = Gen.OneOf(
        Gen.Choose(0, int.MaxValue).Select(v => new BigInteger(v)),
        Gen.Choose(1, 32).SelectMany(length => Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), length))
            .Select(bytes => new BigInteger(bytes, isUnsigned: true)));

    [Fact]
    public void Converting_6_or_18_decimal_tokens_never_creates_or_loses_money() =>
        Check.One(Thorough, Prop.ForAll(
            AnyAtomicAmount.Zip(Gen.Elements(6, 18, 0, 2, 8, 9, 24, 77)).ToArbitrary(),
            t =>
            {
                var (atomic, decimals) = t;
                if (!TokenUnits.TryToMicros(atomic, decimals, out var conversion))
                {
                    // Refused only when the value is beyond what micros can hold.
                    var whole = decimals >= 6 ? atomic / BigInteger.Pow(10, decimals - 6) : atomic * BigInteger.Pow(10, 6 - decimals);
                    return whole > long.MaxValue;
                }
                var unit = decimals >= 6 ? BigInteger.Pow(10, decimals - 6) : BigInteger.One;
                var backInUnits = decimals >= 6
                    ? conversion.Micros.Value * unit
                    : conversion.Micros.Value / BigInteger.Pow(10, 6 - decimals);
                return conversion.Micros.Value >= 0
                    && conversion.Remainder >= 0
                    && conversion.Remainder < unit
                    && backInUnits + conversion.Remainder == atomic
                    && backInUnits <= atomic;
            }));

    [Fact]
    public void USDC_atomic_units_are_micros_one_for_one() =>
        Check.One(Thorough, Prop.ForAll(
            ArbMap.Default.GeneratorFor<long>().Select(v => v == long.MinValue ? 0 : Math.Abs(v)).ToArbitrary(),
            units => TokenUnits.TryToMicros(units, 6, out var conversion) && conversion.Micros.Value == units && conversion.Remainder.IsZero
                     && TokenUnits.FromMicros(conversion.Micros, 6) == units));

    [Fact]
    public void An_18_decimal_amount_keeps_its_sub_micro_dust_as_remainder()
    {
        // 1.2345678 tokens of 18 decimals: 1.234567 USD, the 0.0000008 left over is not rounded up.
        var atomic = BigInteger.Parse("1234567800000000000", CultureInfo.InvariantCulture);

        Assert.True(TokenUnits.TryToMicros(atomic, 18, out var conversion));

        Assert.Equal(1_234_567, conversion.Micros.Value);
        Assert.Equal(BigInteger.Parse("800000000000", CultureInfo.InvariantCulture), conversion.Remainder);
    }

    [Fact]
    public void Negative_amounts_and_impossible_decimals_are_refused()
    {
        Assert.False(TokenUnits.TryToMicros(BigInteger.MinusOne, 6, out _));
        Assert.False(TokenUnits.TryToMicros(BigInteger.One, -1, out _));
        Assert.False(TokenUnits.TryToMicros(BigInteger.One, 78, out _));
        Assert.False(TokenUnits.TryToMicros(BigInteger.Pow(2, 256) - 1, 6, out _));
    }

    [Fact]
    public void Cents_convert_to_micros_exactly_and_an_amount_beyond_the_range_throws_instead_of_wrapping()
    {
        Assert.Equal(Micros.FromUsd(12.34m), Micros.FromCents(1234));
        Assert.Equal(Micros.FromUsd(999_999.99m), Micros.FromCents(99_999_999));
        Assert.Throws<OverflowException>(() => Micros.FromCents(long.MaxValue / 1000));
    }
}
