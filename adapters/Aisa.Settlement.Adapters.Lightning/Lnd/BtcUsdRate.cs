using System.Globalization;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Lightning.Backends;

namespace Aisa.Settlement.Adapters.Lightning.Lnd;

/// <summary>The price of one bitcoin in US dollars, read from a JSON source when an LND invoice is made (LND knows no fiat).</summary>
public sealed class BtcUsdRate(LightningHttp http, LndOptions options)
{
    /// <summary>The source's host, for evidence (its path or query may carry a key).</summary>
    public string Source => new Uri(options.RateUrl!).Host;

    public async Task<decimal> ReadAsync(CancellationToken cancellationToken)
    {
        var (status, body) = await http.SendAsync(HttpMethod.Get, new Uri(options.RateUrl!), null, _ => { }, cancellationToken);
        if (status is < 200 or >= 300)
        {
            throw new LightningBackendException($"The BTC/USD rate source {Source} answered HTTP {status}.");
        }
        return Find(body, options.RateJsonPath!) ?? throw new LightningBackendException($"The BTC/USD rate source {Source} has no positive price at {options.RateJsonPath}.");
    }

    /// <summary>The positive number (or numeric string) at a dotted path of property names; null when there is none.</summary>
    public static decimal? Find(JsonNode? json, string path)
    {
        var node = json;
        foreach (var name in path.Split('.'))
        {
            node = node is JsonObject parent ? parent[name] : null;
        }
        return node is JsonValue value && decimal.TryParse(value.ToString(), NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var price) && price > 0
            ? price
            : null;
    }
}
