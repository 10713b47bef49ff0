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
/// <param name="payoutMacaroonHex">A macaroon that may pay (admin, or one baked for the router), for payouts; null when they are off.</param>
public sealed class LndBackend(LightningHttp http, BtcUsdRate rate, LndOptions options, string? payoutMacaroonHex = null) : ILightningBackend
{
    public const string MacaroonHeader = "Grpc-Metadata-macaroon";

    public string Name => "lnd";

    public long Calls => http.Calls;

    public async Task<MadeInvoice> CreateAsync(InvoicePurpose purpose, Micros amount, TimeSpan expiry, CancellationToken cancellationToken)
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
            ["memo"] = purpose.Description,
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

    public async Task<(decimal Price, string Source)> BtcUsdAsync(CancellationToken cancellationToken) => (await rate.ReadAsync(cancellationToken), rate.Source);

    public async Task<PaymentReading> PayAsync(string bolt11, string paymentHash, decimal maxFeePercent, CancellationToken cancellationToken)
    {
        var invoiceMsat = Bolt11.Bolt11Invoice.Decode(bolt11).AmountMsat ?? 0;
        var request = new JsonObject
        {
            ["payment_request"] = bolt11,
            ["timeout_seconds"] = 60,
            ["fee_limit_msat"] = ((long)Math.Floor(invoiceMsat * maxFeePercent / 100m)).ToString(CultureInfo.InvariantCulture),
            ["no_inflight_updates"] = true,
        };
        // A stream: with no in-flight updates, one line with where the payment ended (or an error line).
        var answer = Expect(await http.SendAsync(HttpMethod.Post, Url("v2/router/send"), request, PayoutAuthorize, cancellationToken), "pay an invoice");
        if (answer["error"] is JsonObject error)
        {
            // "invoice is already paid", "payment is in transition": the node's own payment of this hash answers.
            var known = await PaymentAsync(paymentHash, cancellationToken);
            return known.Status != PaymentStatus.Unknown
                ? known
                : new PaymentReading(PaymentStatus.Failed, new JsonObject { ["backend"] = Name, ["paymentHash"] = paymentHash, ["refused"] = LightningHttp.ErrorOf(error) });
        }
        return Payment(answer["result"] as JsonObject ?? throw new LightningBackendException("LND answered the payment without its result."), paymentHash);
    }

    public async Task<PaymentReading> PaymentAsync(string paymentHash, CancellationToken cancellationToken)
    {
        // The first line of the track stream is where the payment stands now (the stream then waits for changes: not read).
        var hash = Convert.ToBase64String(Convert.FromHexString(paymentHash)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        await foreach (var line in http.StreamAsync(Url($"v2/router/track/{hash}"), PayoutAuthorize, TimeSpan.FromSeconds(10), cancellationToken))
        {
            if (line["error"] is JsonObject error)
            {
                return Msat.Int64(error["code"]) == 5
                    ? new PaymentReading(PaymentStatus.Unknown, new JsonObject { ["backend"] = Name, ["paymentHash"] = paymentHash, ["status"] = "not initiated", ["message"] = LightningHttp.ErrorOf(error) })
                    : throw new LightningBackendException($"LND could not track payment {paymentHash}: {LightningHttp.ErrorOf(error)}");
            }
            if (line["result"] is JsonObject payment)
            {
                return Payment(payment, paymentHash);
            }
        }
        throw new LightningBackendException($"LND said nothing about payment {paymentHash}.");
    }

    private PaymentReading Payment(JsonObject payment, string paymentHash)
    {
        var state = payment["status"]?.ToString();
        var evidence = new JsonObject
        {
            ["backend"] = Name, ["paymentHash"] = paymentHash, ["status"] = state, ["valueMsat"] = Msat.Int64(payment["value_msat"]), ["feeMsat"] = Msat.Int64(payment["fee_msat"]),
            ["failureReason"] = payment["failure_reason"]?.ToString(), ["paymentIndex"] = Msat.Int64(payment["payment_index"]),
        };
        if (state == "SUCCEEDED")
        {
            evidence["preimage"] = payment["payment_preimage"]?.ToString();
        }
        return new PaymentReading(state switch
        {
            "SUCCEEDED" => PaymentStatus.Succeeded,
            "FAILED" => PaymentStatus.Failed,
            _ => PaymentStatus.InFlight,
        }, evidence);
    }

    private void PayoutAuthorize(HttpRequestHeaders headers) =>
        headers.Add(MacaroonHeader, payoutMacaroonHex ?? throw new LightningBackendException("Payouts on LND need Rails:Lightning:Payouts:MacaroonHex, a macaroon that may pay."));

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
