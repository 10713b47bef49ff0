using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Lightning.Backends;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Adapters.Lightning.Lnd;

/// <summary>
/// LND's REST API (protojson: int64 as strings, bytes as base64): an invoice of <c>value_msat</c> worked out from the BTC/USD
/// rate read at creation, read back by its payment hash; settled invoices since a <c>settle_index</c> replayed from
/// <c>/v1/invoices/subscribe</c>, so a watcher that was away catches up from where it stopped.
/// </summary>
public sealed class LndBackend(LightningHttp http, BtcUsdRate rate, LndOptions options) : ILightningBackend
{
    public const string MacaroonHeader = "Grpc-Metadata-macaroon";

    public string Name => "lnd";

    public long Calls => http.Calls;

    public async Task<MadeInvoice> CreateAsync(long depositId, Micros amount, TimeSpan expiry, CancellationToken cancellationToken)
    {
        var price = await rate.ReadAsync(cancellationToken);
        // Rounded up: the payer pays at least the dollars credited.
        var msat = decimal.Ceiling(amount.Value * (Msat.PerBitcoin / Micros.PerDollar) / price);
        if (msat is < 1_000 or > long.MaxValue)
        {
            throw new LightningBackendException($"{amount.ToPriceString()} at {price} USD/BTC is {msat} msat: not an amount a Lightning invoice can ask.");
        }
        var request = new JsonObject
        {
            ["memo"] = $"AISA wallet top-up, deposit {depositId.ToString(CultureInfo.InvariantCulture)}",
            ["value_msat"] = ((long)msat).ToString(CultureInfo.InvariantCulture),
            ["expiry"] = ((long)expiry.TotalSeconds).ToString(CultureInfo.InvariantCulture),
        };
        var made = Expect(await SendAsync(HttpMethod.Post, "v1/invoices", request, cancellationToken), "add an invoice");
        var hash = Hex(made["r_hash"]) ?? throw new LightningBackendException("LND answered the new invoice without its r_hash.");
        return new MadeInvoice(hash, made["payment_request"]?.ToString() ?? "", hash, (long)msat, new JsonObject
        {
            ["backend"] = Name,
            ["usd"] = amount.ToAmountString(),
            ["rate"] = price.ToString(CultureInfo.InvariantCulture),
            ["rateSource"] = rate.Source,
            ["amountMsat"] = (long)msat,
            ["addIndex"] = Msat.Int64(made["add_index"]),
        });
    }

    public async Task<InvoiceReading> ReadAsync(string invoiceId, CancellationToken cancellationToken)
    {
        var (status, body) = await SendAsync(HttpMethod.Get, $"v1/invoice/{Uri.EscapeDataString(invoiceId)}", null, cancellationToken);
        if (status == 404 && Msat.Int64(body?["code"]) == 5)
        {
            return new InvoiceReading(InvoiceStatus.Unknown, invoiceId, 0, 0, 0, new JsonObject { ["backend"] = Name, ["paymentHash"] = invoiceId, ["state"] = "not found", ["message"] = LightningHttp.ErrorOf(body) });
        }
        return Reading(Expect((status, body), "look up an invoice"));
    }

    /// <summary>
    /// Every invoice settled after <paramref name="settleIndex"/> (which must be above 0: LND replays nothing from 0), in
    /// settle order, as LND replays them; ends when nothing came for <paramref name="quiet"/>, or after <paramref name="max"/>
    /// lines of any kind (a busy node's stream of new invoices never falls quiet).
    /// </summary>
    public async IAsyncEnumerable<InvoiceReading> SettledAfterAsync(long settleIndex, TimeSpan quiet, int max, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var url = Url($"v1/invoices/subscribe?settle_index={settleIndex.ToString(CultureInfo.InvariantCulture)}");
        var read = 0;
        await foreach (var line in http.StreamAsync(url, Authorize, quiet, cancellationToken))
        {
            if (++read > max)
            {
                yield break;
            }
            if (line["error"] is JsonObject error)
            {
                throw new LightningBackendException($"LND broke off the invoice subscription: {LightningHttp.ErrorOf(error)}");
            }
            if (line["result"] is not JsonObject invoice)
            {
                continue;
            }
            var reading = Reading(invoice);
            // The stream also tells of invoices added meanwhile: only settlements past the index are news.
            if (reading.SettleIndex > settleIndex && invoice["state"]?.ToString() == "SETTLED")
            {
                yield return reading;
            }
        }
    }

    private InvoiceReading Reading(JsonObject invoice)
    {
        var state = invoice["state"]?.ToString();
        var asked = Msat.Int64(invoice["value_msat"]) ?? 0;
        var paid = Msat.Int64(invoice["amt_paid_msat"]) ?? 0;
        var settleIndex = Msat.Int64(invoice["settle_index"]) ?? 0;
        var hash = Hex(invoice["r_hash"]);
        var evidence = new JsonObject
        {
            ["backend"] = Name,
            ["paymentHash"] = hash,
            ["state"] = state,
            ["valueMsat"] = asked,
            ["amtPaidMsat"] = paid,
            ["settleIndex"] = settleIndex,
            ["settleDate"] = Msat.Int64(invoice["settle_date"]),
        };
        var status = state switch
        {
            "OPEN" or "ACCEPTED" => InvoiceStatus.Open,
            "SETTLED" => paid >= asked && asked > 0 ? InvoiceStatus.Settled : InvoiceStatus.Underpaid,
            "CANCELED" => InvoiceStatus.Expired,
            _ => throw new LightningBackendException($"LND's invoice {hash} is in a state this service does not know: {state}."),
        };
        return new InvoiceReading(status, hash, asked, paid, settleIndex, evidence);
    }

    private static string? Hex(JsonNode? base64)
    {
        try
        {
            return base64 is null ? null : Convert.ToHexStringLower(Convert.FromBase64String(base64.ToString()));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private void Authorize(HttpRequestHeaders headers) => headers.Add(MacaroonHeader, options.MacaroonHex);

    private Uri Url(string path) => new(new Uri(options.RestUrl!.TrimEnd('/') + "/"), path);

    private Task<(int, JsonNode?)> SendAsync(HttpMethod method, string path, JsonNode? body, CancellationToken cancellationToken) =>
        http.SendAsync(method, Url(path), body, Authorize, cancellationToken);

    private static JsonObject Expect((int Status, JsonNode? Body) answer, string what) => answer switch
    {
        ( >= 200 and < 300, JsonObject body) => body,
        ( >= 200 and < 300, _) => throw new LightningBackendException($"LND answered the request to {what} with something that is not an object."),
        var (status, body) => throw new LightningBackendException($"LND answered the request to {what} with HTTP {status}: {LightningHttp.ErrorOf(body)}"),
    };
}
