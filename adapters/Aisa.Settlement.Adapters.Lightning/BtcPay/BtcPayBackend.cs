using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Lightning.Backends;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Adapters.Lightning.BtcPay;

/// <summary>
/// BTCPay Server's Greenfield API: a store invoice in USD payable by Lightning only (BTCPay fixes the rate), its BOLT11 read
/// from the invoice's payment methods. The deposit's id rides in the invoice's metadata, which BTCPay's webhooks echo.
/// Payouts pay through the store's Lightning node (the API key needs <c>btcpay.store.canuselightningnode</c>).
/// </summary>
public sealed class BtcPayBackend(LightningHttp http, BtcPayOptions options) : ILightningBackend
{
    /// <summary>The payment method of Lightning invoices (older servers said <c>BTC-LightningNetwork</c>).</summary>
    public static readonly string[] LightningMethods = ["BTC-LN", "BTC-LightningNetwork"];

    /// <summary>The metadata's order id of a deposit's invoice.</summary>
    public static string OrderId(long depositId) => $"aisa-deposit-{depositId.ToString(CultureInfo.InvariantCulture)}";

    public string Name => "btcpay";

    public long Calls => http.Calls;

    public async Task<MadeInvoice> CreateAsync(InvoicePurpose purpose, Micros amount, TimeSpan expiry, CancellationToken cancellationToken)
    {
        var usd = amount.ToUsd().ToString("0.00####", CultureInfo.InvariantCulture);
        var request = new JsonObject
        {
            ["amount"] = usd,
            ["currency"] = "USD",
            // Only a deposit's invoice names one: the webhook and the watcher pass over the others.
            ["metadata"] = purpose.DepositId is { } depositId
                ? new JsonObject { ["orderId"] = OrderId(depositId), ["depositId"] = depositId, ["itemDesc"] = purpose.Description }
                : new JsonObject { ["itemDesc"] = purpose.Description },
            ["checkout"] = new JsonObject
            {
                ["paymentMethods"] = new JsonArray("BTC-LN"),
                ["expirationMinutes"] = (int)Math.Ceiling(expiry.TotalMinutes),
                ["speedPolicy"] = "HighSpeed",
                // The BOLT11 is made now, not when a payer opens the checkout page: it is handed out at once.
                ["lazyPaymentMethods"] = false,
            },
        };
        var invoice = Expect(await SendAsync(HttpMethod.Post, StorePath("invoices"), request, cancellationToken), "create an invoice") as JsonObject
            ?? throw new LightningBackendException("BTCPay answered the new invoice with something that is not an invoice.");
        var id = invoice["id"]?.ToString() ?? throw new LightningBackendException("BTCPay answered the new invoice without its id.");
        var method = await LightningMethodAsync(id, cancellationToken)
            ?? throw new LightningBackendException($"BTCPay's invoice {id} has no activated Lightning payment method: is Lightning enabled on the store?");
        var amountMsat = Msat.FromBtc(method["amount"]) ?? throw new LightningBackendException($"BTCPay's invoice {id} states no Lightning amount.");
        return new MadeInvoice(id, method["destination"]?.ToString() ?? "", method["additionalData"]?["paymentHash"]?.ToString() ?? "", amountMsat, new JsonObject
        {
            ["backend"] = Name,
            ["invoiceId"] = id,
            ["usd"] = invoice["amount"]?.ToString(),
            ["currency"] = invoice["currency"]?.ToString(),
            ["rate"] = method["rate"]?.ToString(),
            ["btc"] = method["amount"]?.ToString(),
            ["checkoutLink"] = invoice["checkoutLink"]?.ToString(),
        });
    }

    public async Task<InvoiceReading> ReadAsync(string invoiceId, CancellationToken cancellationToken)
    {
        var (status, body) = await SendAsync(HttpMethod.Get, StorePath($"invoices/{Uri.EscapeDataString(invoiceId)}"), null, cancellationToken);
        if (status == 404 && body?["code"]?.ToString() == "invoice-not-found")
        {
            return new InvoiceReading(InvoiceStatus.Unknown, null, 0, 0, 0, new JsonObject { ["backend"] = Name, ["invoiceId"] = invoiceId, ["status"] = "not found" });
        }
        var invoice = Expect((status, body), "read an invoice") as JsonObject ?? throw new LightningBackendException($"BTCPay answered invoice {invoiceId} with something that is not an invoice.");
        var state = invoice["status"]?.ToString();
        var additional = invoice["additionalStatus"]?.ToString();
        var evidence = new JsonObject { ["backend"] = Name, ["invoiceId"] = invoiceId, ["status"] = state, ["additionalStatus"] = additional, ["usd"] = invoice["amount"]?.ToString() };
        if (state is "New" or "Processing")
        {
            return new InvoiceReading(InvoiceStatus.Open, null, 0, 0, 0, evidence);
        }
        if (state == "Invalid")
        {
            return new InvoiceReading(InvoiceStatus.Invalid, null, 0, 0, 0, evidence);
        }
        if (state == "Expired" && additional != "PaidPartial")
        {
            return new InvoiceReading(InvoiceStatus.Expired, null, 0, 0, 0, evidence);
        }
        if (state is not ("Settled" or "Expired"))
        {
            throw new LightningBackendException($"BTCPay's invoice {invoiceId} has a status this service does not know: {state}.");
        }
        // Settled, or expired partly paid: what the Lightning payment method received decides.
        var method = await LightningMethodAsync(invoiceId, cancellationToken) ?? throw new LightningBackendException($"BTCPay's invoice {invoiceId} has no Lightning payment method.");
        var asked = Msat.FromBtc(method["amount"]) ?? 0;
        var paid = Msat.FromBtc(method["totalPaid"]) ?? 0;
        evidence["btc"] = method["amount"]?.ToString();
        evidence["btcPaid"] = method["totalPaid"]?.ToString();
        evidence["rate"] = method["rate"]?.ToString();
        var hash = method["additionalData"]?["paymentHash"]?.ToString();
        var settled = state == "Settled" && asked > 0 && paid >= asked;
        return new InvoiceReading(settled ? InvoiceStatus.Settled : InvoiceStatus.Underpaid, hash, asked, paid, 0, evidence);
    }

    public async Task<(decimal Price, string Source)> BtcUsdAsync(CancellationToken cancellationToken)
    {
        var rates = Expect(await SendAsync(HttpMethod.Get, StorePath("rates?currencyPair=BTC_USD"), null, cancellationToken), "read the store's BTC/USD rate");
        var rate = (rates as JsonArray)?.OfType<JsonObject>().FirstOrDefault(r => r["currencyPair"]?.ToString() == "BTC_USD");
        return decimal.TryParse(rate?["rate"]?.ToString(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var price) && price > 0
            ? (price, $"btcpay store {options.StoreId}")
            : throw new LightningBackendException($"BTCPay's store has no BTC/USD rate: {rate?["errors"]?.ToJsonString() ?? "none answered"}.");
    }

    public async Task<PaymentReading> PayAsync(string bolt11, string paymentHash, decimal maxFeePercent, CancellationToken cancellationToken)
    {
        var request = new JsonObject
        {
            ["BOLT11"] = bolt11,
            ["maxFeePercent"] = maxFeePercent.ToString(CultureInfo.InvariantCulture),
            ["sendTimeout"] = 30,
        };
        var (status, body) = await SendAsync(HttpMethod.Post, StorePath("lightning/BTC/invoices/pay"), request, cancellationToken);
        if (status == 400 && body?["code"]?.ToString() == "generic-error")
        {
            // "invoice is already paid", "payment is in transition", or no route: where the node's payment stands decides.
            var known = await PaymentAsync(paymentHash, cancellationToken);
            if (known.Status != PaymentStatus.Unknown)
            {
                return known;
            }
        }
        if (status == 400 && body?["code"]?.ToString() is "could-not-find-route" or "generic-error")
        {
            return new PaymentReading(PaymentStatus.Failed, new JsonObject { ["backend"] = Name, ["paymentHash"] = paymentHash, ["refused"] = LightningHttp.ErrorOf(body) });
        }
        return Payment(Expect((status, body), "pay an invoice") as JsonObject ?? throw new LightningBackendException("BTCPay answered the payment with something that is not one."), paymentHash);
    }

    public async Task<PaymentReading> PaymentAsync(string paymentHash, CancellationToken cancellationToken)
    {
        var (status, body) = await SendAsync(HttpMethod.Get, StorePath($"lightning/BTC/payments/{Uri.EscapeDataString(paymentHash)}"), null, cancellationToken);
        if (status == 404 && body?["code"]?.ToString() == "payment-not-found")
        {
            return new PaymentReading(PaymentStatus.Unknown, new JsonObject { ["backend"] = Name, ["paymentHash"] = paymentHash, ["status"] = "not found" });
        }
        return Payment(Expect((status, body), "read a payment") as JsonObject ?? throw new LightningBackendException("BTCPay answered the payment with something that is not one."), paymentHash);
    }

    private PaymentReading Payment(JsonObject payment, string paymentHash)
    {
        var state = payment["status"]?.ToString();
        var evidence = new JsonObject
        {
            ["backend"] = Name, ["paymentHash"] = paymentHash, ["status"] = state, ["totalAmountMsat"] = payment["totalAmount"]?.ToString(),
            ["feeMsat"] = payment["feeAmount"]?.ToString(), ["preimage"] = payment["preimage"]?.ToString(),
        };
        return new PaymentReading(state switch
        {
            "Complete" => PaymentStatus.Succeeded,
            "Pending" => PaymentStatus.InFlight,
            "Failed" => PaymentStatus.Failed,
            // BTCPay's "Unknown": its node cannot say; never taken as unpaid.
            _ => PaymentStatus.InFlight,
        }, evidence);
    }

    private async Task<JsonObject?> LightningMethodAsync(string invoiceId, CancellationToken cancellationToken)
    {
        var methods = Expect(await SendAsync(HttpMethod.Get, StorePath($"invoices/{Uri.EscapeDataString(invoiceId)}/payment-methods"), null, cancellationToken), "read an invoice's payment methods");
        return (methods as JsonArray)?.OfType<JsonObject>().FirstOrDefault(m => LightningMethods.Contains(m["paymentMethodId"]?.ToString()) && m["activated"]?.GetValue<bool>() != false);
    }

    private string StorePath(string path) => $"api/v1/stores/{Uri.EscapeDataString(options.StoreId!)}/{path}";

    private Task<(int, JsonNode?)> SendAsync(HttpMethod method, string path, JsonNode? body, CancellationToken cancellationToken) =>
        http.SendAsync(method, new Uri(new Uri(options.Url!.TrimEnd('/') + "/"), path), body,
            headers => headers.Authorization = new AuthenticationHeaderValue("token", options.ApiKey), cancellationToken);

    private static JsonNode Expect((int Status, JsonNode? Body) answer, string what) => answer switch
    {
        ( >= 200 and < 300, { } body) => body,
        (401 or 403, var body) => throw new LightningBackendException($"BTCPay refused to {what} with the configured API key (HTTP {answer.Status}): {LightningHttp.ErrorOf(body)}"),
        var (status, body) => throw new LightningBackendException($"BTCPay answered the request to {what} with HTTP {status}: {LightningHttp.ErrorOf(body)}"),
    };
}
