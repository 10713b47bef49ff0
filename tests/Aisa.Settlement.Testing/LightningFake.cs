using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Testing;

/// <summary>
/// A FAKE Lightning backend (no Lightning node, bitcoind or BTCPay Server runs here): tests/peers/lightning-fake.mjs answers
/// BTCPay Server's Greenfield API and LND's REST API in the shapes their sources give (reference/lightning-wire.md), with
/// their error bodies, and hands out real BOLT11 invoices encoded and signed by the bolt11 npm package with a node key.
/// What a payer, an operator or BTCPay's webhook sender would do is a control of the test's.
/// </summary>
public sealed class LightningFake : IAsyncDisposable
{
    public const string ApiKey = "btcpay-fake-api-key";
    public const string StoreId = "FakeStore1";
    public const string WebhookSecret = "btcpay-fake-webhook-secret";
    public const string MacaroonHex = "0201036c6e6402f801030a10";

    /// <summary>The macaroon that may pay (the invoice macaroon is refused by the router).</summary>
    public const string PayoutMacaroonHex = "0201036c6e6402f801030a20";

    /// <summary>The fake's BTC/USD price: 100,000 dollars, so one dollar is 1,000 sat.</summary>
    public const decimal BtcUsd = 100_000m;

    private readonly Process _process;
    private readonly HttpClient _http;

    private LightningFake(Process process, Uri url)
    {
        _process = process;
        Url = url;
        _http = new HttpClient { BaseAddress = url };
    }

    public Uri Url { get; }

    public Uri RateUrl => new(Url, "rate");

    public static async Task<LightningFake> StartAsync(string network = "mainnet")
    {
        var (process, url) = await NodePeers.StartServerAsync("lightning-fake.mjs", "Lightning fake");
        var fake = new LightningFake(process, url);
        await fake.ControlAsync(new JsonObject
        {
            ["op"] = "setup", ["network"] = network, ["apiKey"] = ApiKey, ["storeId"] = StoreId, ["webhookSecret"] = WebhookSecret, ["macaroon"] = MacaroonHex, ["payoutMacaroon"] = PayoutMacaroonHex, ["btcUsd"] = BtcUsd,
        });
        return fake;
    }

    /// <summary>A Lightning address the fake's LNURL-pay server answers for (a name starting "nobody" does not resolve).</summary>
    public string Address(string name) => $"{name}@{Url.Authority}";

    /// <summary>How the node's next payments end: <c>succeed</c>, <c>fail</c> (no route) or <c>inflight</c>.</summary>
    public Task PayOutcomeAsync(string mode) => ControlAsync(new JsonObject { ["op"] = "payOutcome", ["mode"] = mode });

    /// <summary>What reached a Lightning address's recipient: payment attempts, those that succeeded, and their msat.</summary>
    public async Task<(int Attempts, int Succeeded, long Msat)> ReceivedAsync(string name)
    {
        var received = await ControlAsync(new JsonObject { ["op"] = "received", ["name"] = name });
        return (received["attempts"]!.GetValue<int>(), received["succeeded"]!.GetValue<int>(), long.Parse(received["msat"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Where the fake's BTCPay sends its webhooks.</summary>
    public Task WebhookToAsync(Uri url) => ControlAsync(new JsonObject { ["op"] = "setup", ["webhookUrl"] = url.ToString() });

    /// <summary>The BTC/USD price from now on (BTCPay's, and the rate source's for LND).</summary>
    public Task RateAsync(decimal btcUsd) => ControlAsync(new JsonObject { ["op"] = "setup", ["btcUsd"] = btcUsd });

    /// <summary>The backend's invoices are of <paramref name="network"/> from now on (an invoice of the wrong network, for the check).</summary>
    public Task NetworkAsync(string network) => ControlAsync(new JsonObject { ["op"] = "setup", ["network"] = network });

    /// <summary>A payer pays the invoice (a BTCPay invoice id or a payment hash) in full, or <paramref name="amountMsat"/> of it; returns LND's settle index.</summary>
    public async Task<long> PayAsync(string invoice, long? amountMsat = null) =>
        (long)(await ControlAsync(new JsonObject { ["op"] = "pay", ["invoice"] = invoice, ["amountMsat"] = amountMsat?.ToString(System.Globalization.CultureInfo.InvariantCulture) }))["settleIndex"]!;

    /// <summary>A payer's node pays the BOLT11 invoice in full and gets its preimage (hex), the proof of payment.</summary>
    public async Task<string> PayForPreimageAsync(string bolt11) =>
        (await ControlAsync(new JsonObject { ["op"] = "pay", ["invoice"] = bolt11 }))["preimage"]!.GetValue<string>();

    /// <summary>Unpaid past its expiry: BTCPay expires it, LND cancels it.</summary>
    public Task ExpireAsync(string invoice) => ControlAsync(new JsonObject { ["op"] = "expire", ["invoice"] = invoice });

    /// <summary>The backend loses the invoice (a restored database): it answers 404 for it.</summary>
    public Task ForgetAsync(string invoice) => ControlAsync(new JsonObject { ["op"] = "forget", ["invoice"] = invoice });

    /// <summary>A BTCPay operator marks the invoice by hand (Settled with no payment, or Invalid).</summary>
    public Task MarkAsync(string invoice, string status) => ControlAsync(new JsonObject { ["op"] = "mark", ["invoice"] = invoice, ["status"] = status });

    /// <summary>An invoice of another application on the same LND node, paid.</summary>
    public Task ForeignPaymentAsync() => ControlAsync(new JsonObject { ["op"] = "foreign" });

    /// <summary><c>none</c>, <c>down</c> (connections dropped), <c>500</c>, or <c>garbage</c> (a 200 with broken JSON), for every request until changed.</summary>
    public Task FaultAsync(string mode) => ControlAsync(new JsonObject { ["op"] = "fault", ["mode"] = mode });

    /// <summary>BTCPay's webhook for the invoice, <paramref name="times"/> times in a row or all at once, signed (or signed with a wrong secret); returns the statuses we answered.</summary>
    public async Task<int[]> WebhookAsync(string invoice, string type = "InvoiceSettled", int times = 1, bool concurrent = false, bool tamper = false)
    {
        var answer = await ControlAsync(new JsonObject { ["op"] = "webhook", ["invoice"] = invoice, ["type"] = type, ["times"] = times, ["concurrent"] = concurrent, ["tamper"] = tamper });
        return answer["statuses"]!.AsArray().Select(s => (int)s!).ToArray();
    }

    /// <summary>The invoice as the fake holds it: {id, paymentHash, bolt11, amountMsat, status, state}.</summary>
    public Task<JsonObject> InvoiceAsync(string invoice) => ControlAsync(new JsonObject { ["op"] = "invoice", ["invoice"] = invoice });

    /// <summary>Every API request the fake was sent, as "METHOD /path".</summary>
    public async Task<string[]> RequestsAsync() =>
        (await ControlAsync(new JsonObject { ["op"] = "requests" }))["requests"]!.AsArray().Select(r => r!.ToString()).ToArray();

    /// <summary>The same API over TLS with this certificate and key (PEM); returns its URL.</summary>
    public async Task<Uri> TlsAsync(string certificatePem, string keyPem) =>
        new((await ControlAsync(new JsonObject { ["op"] = "tls", ["cert"] = certificatePem, ["key"] = keyPem }))["url"]!.ToString());

    /// <summary>Settings of <c>Rails:Lightning</c> for this fake, as configuration keys.</summary>
    public Dictionary<string, string> Settings(string backend, int pollIntervalSeconds = 1, string network = "mainnet")
    {
        var settings = new Dictionary<string, string>
        {
            ["Rails:Lightning:Backend"] = backend,
            ["Rails:Lightning:Network"] = network,
            ["Rails:Lightning:PollIntervalSeconds"] = pollIntervalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Rails:Lightning:TimeoutSeconds"] = "5",
        };
        var (section, values) = backend == "lnd"
            ? ("Lnd", new[] { ("RestUrl", Url.ToString()), ("MacaroonHex", MacaroonHex), ("RateUrl", RateUrl.ToString()), ("RateJsonPath", "bitcoin.usd") })
            : ("BtcPay", new[] { ("Url", Url.ToString()), ("ApiKey", ApiKey), ("StoreId", StoreId), ("WebhookSecret", WebhookSecret) });
        foreach (var (key, value) in values)
        {
            settings[$"Rails:Lightning:{section}:{key}"] = value;
        }
        return settings;
    }

    private async Task<JsonObject> ControlAsync(JsonObject body)
    {
        using var response = await _http.PostAsJsonAsync(new Uri("control", UriKind.Relative), body);
        var text = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? JsonNode.Parse(text)!.AsObject() : throw new InvalidOperationException($"Lightning fake control {body["op"]}: {text}");
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
