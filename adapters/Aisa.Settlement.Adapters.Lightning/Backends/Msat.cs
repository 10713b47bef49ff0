using System.Globalization;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Adapters.Lightning.Backends;

/// <summary>Amounts as the backends write them: BTC as a decimal string (BTCPay), int64 as a string (LND's protojson).</summary>
public static class Msat
{
    public const decimal PerBitcoin = 100_000_000_000m;

    /// <summary>Millisatoshis of a BTC amount written as a decimal string ("0.00015000"); null when it is not one.</summary>
    public static long? FromBtc(JsonNode? node) =>
        decimal.TryParse(node?.ToString(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var btc) && btc * PerBitcoin is var msat && msat == decimal.Truncate(msat) && msat <= long.MaxValue
            ? (long)msat
            : null;

    /// <summary>An int64 that protojson writes as a string (or a number); null when absent or not one.</summary>
    public static long? Int64(JsonNode? node) =>
        node is JsonValue value && long.TryParse(value.ToString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) ? number : null;
}
