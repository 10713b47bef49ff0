using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>
/// Lightning top-ups through BTCPay Server's Greenfield API, against a FAKE BTCPay (no BTCPay Server runs here) built from
/// the shapes of its source, whose invoices are real BOLT11 strings signed by the bolt11 npm package and whose webhooks are
/// signed as BTCPay signs them. The watcher is paused where a test shows what a webhook alone does, and run on request
/// where it shows what a pass does.
/// </summary>
public sealed class BtcPayFakeTopUpTests : IAsyncLifetime
{
    private LightningFake _btcpay = null!;
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task InitializeAsync() => _btcpay = await LightningFake.StartAsync();

    public async Task DisposeAsync()
    {
        try
        {
            foreach (var owned in Enumerable.Reverse(_owned))
            {
                await owned.DisposeAsync();
            }
        }
        finally
        {
            await _btcpay.DisposeAsync();
        }
    }

    /// <summary>A service on the fake BTCPay whose webhooks reach it, after its watcher's first pass; paused when asked.</summary>
    private async Task<(SettlementFactory Factory, AisaClient Client)> StartAsync(string provider = StorageOptions.Postgres, bool paused = true)
    {
        var store = await TestStore.CreateAsync(provider);
        _owned.Add(store);
        var settings = _btcpay.Settings("btcpay");
        settings["Scheduling:LeaseSeconds"] = "5";
        var factory = new SettlementFactory(store, settings);
        _owned.Add(factory);
        var client = new AisaClient(factory.CreateClient());
        await _btcpay.WebhookToAsync(new Uri(client.Http.BaseAddress!, "/api/webhooks/lightning"));
        await LightningWatch.WaitForFirstPassAsync(client);
        if (paused)
        {
            await LightningWatch.PauseAsync(factory);
        }
        return (factory, client);
    }

    private static async Task<Reply> DeliverAsync(AisaClient client, string body, string? signature)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks/lightning") { Content = new StringContent(body, new UTF8Encoding(false)) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation("BTCPay-Sig", signature);
        }
        using var response = await client.Http.SendAsync(request);
        var raw = await response.Content.ReadAsStringAsync();
        return new Reply(response.StatusCode, JsonDocument.Parse(raw.Length == 0 ? "{}" : raw).RootElement.Clone(), response.Headers, raw);
    }

    private static string Sign(string body, string secret) => "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    private static async Task<JsonElement> DepositAsync(AisaClient client, string session) => Assert.Single(await EvmWatch.DepositsAsync(client, session));

    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task A_settled_invoice_told_by_webhook_five_times_and_five_at_once_credits_the_dollars_asked_once(string provider)
    {
        var (_, client) = await StartAsync(provider);
        var agent = await client.RegisterAgentAsync();

        var (answer, invoice) = await LightningWatch.TopUpAsync(client, agent.SessionToken, 12.5m);

        // $12.50 at the fake's $100,000 per bitcoin: 12,500 sat, in an invoice of mainnet whose hash the answer names.
        Assert.Equal("lightning", answer.GetProperty("rail").GetString());
        Assert.Equal(12_500_000, invoice.AmountMsat);
        Assert.Equal(12_500_000, answer.GetProperty("amountMsat").GetInt64());
        Assert.Equal(invoice.PaymentHash, answer.GetProperty("paymentHash").GetString());
        Assert.StartsWith("lnbc125u1", invoice.PaymentRequest, StringComparison.Ordinal);
        Assert.Equal(invoice.ExpiresAt, answer.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.InRange(invoice.Expiry, TimeSpan.FromSeconds(899), TimeSpan.FromSeconds(901));
        var depositId = answer.GetProperty("depositId").GetInt64();
        var pending = await DepositAsync(client, agent.SessionToken);
        Assert.True(pending.Is("pending"));
        Assert.Equal(invoice.PaymentHash, pending.GetProperty("reference").GetString());
        var invoiceId = pending.GetProperty("address").GetString()!;

        await _btcpay.PayAsync(invoiceId);
        Assert.Equal(new[] { 200, 200, 200, 200, 200 }, await _btcpay.WebhookAsync(invoiceId, times: 5));
        Assert.Equal(new[] { 200, 200, 200, 200, 200 }, await _btcpay.WebhookAsync(invoiceId, times: 5, concurrent: true));
        Assert.Equal(new[] { 200 }, await _btcpay.WebhookAsync(invoiceId, type: "InvoicePaymentSettled"));

        Assert.Equal(12.5m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
        Assert.True((await DepositAsync(client, agent.SessionToken)).Is("credited"));
        var view = await LightningWatch.OperatorViewAsync(client, depositId);
        Assert.Equal($"deposit:lightning:{invoice.PaymentHash}", view.GetProperty("ledgerKey").GetString());
        var credited = await LightningWatch.EvidenceAsync(client, depositId, "credited");
        Assert.StartsWith("webhook InvoiceSettled", credited.GetProperty("source").GetString(), StringComparison.Ordinal);
        Assert.Equal("Settled", credited.GetProperty("status").GetString());
        // What the dollars rest on, kept from the invoice's making: BTCPay's rate and the BTC it asked.
        var made = (await LightningWatch.OperatorViewAsync(client, depositId)).GetProperty("transitions").EnumerateArray()
            .Single(t => t.GetProperty("evidence").TryGetProperty("made", out _)).GetProperty("evidence");
        Assert.Equal("100000.00", made.GetProperty("rate").GetString());
        Assert.Equal("0.00012500", made.GetProperty("btc").GetString());
        Assert.Equal(invoiceId, made.GetProperty("invoiceId").GetString());
        var audit = await client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    [Fact]
    public async Task A_settled_invoice_whose_webhook_never_came_is_credited_by_the_watcher_once_and_a_late_webhook_adds_nothing()
    {
        var (factory, client) = await StartAsync();
        var agent = await client.RegisterAgentAsync();
        var (answer, _) = await LightningWatch.TopUpAsync(client, agent.SessionToken, 3m);
        var invoiceId = (await DepositAsync(client, agent.SessionToken)).GetProperty("address").GetString()!;

        var open = await LightningWatch.RunOnePassAsync(factory, client);
        Assert.Equal("succeeded", open.GetProperty("outcome").GetString());
        Assert.True((await DepositAsync(client, agent.SessionToken)).Is("pending"));

        await _btcpay.PayAsync(invoiceId);
        var pass = await LightningWatch.RunOnePassAsync(factory, client);

        Assert.Equal("succeeded", pass.GetProperty("outcome").GetString());
        Assert.True((await DepositAsync(client, agent.SessionToken)).Is("credited"));
        Assert.Equal("watcher", (await LightningWatch.EvidenceAsync(client, answer.GetProperty("depositId").GetInt64(), "credited")).GetProperty("source").GetString());
        Assert.Equal(new[] { 200 }, await _btcpay.WebhookAsync(invoiceId));
        await LightningWatch.RunOnePassAsync(factory, client);
        Assert.Equal(3m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
    }

    [Fact]
    public async Task Deliveries_signed_with_another_secret_unsigned_or_with_a_changed_body_get_400_and_change_nothing()
    {
        var (_, client) = await StartAsync();
        var agent = await client.RegisterAgentAsync();
        var (answer, _) = await LightningWatch.TopUpAsync(client, agent.SessionToken, 2m);
        var invoiceId = (await DepositAsync(client, agent.SessionToken)).GetProperty("address").GetString()!;
        await _btcpay.PayAsync(invoiceId);

        Assert.Equal(new[] { 400, 400 }, await _btcpay.WebhookAsync(invoiceId, times: 2, tamper: true));
        var body = JsonSerializer.Serialize(new
        {
            deliveryId = "Dforged", webhookId = "Wk", originalDeliveryId = "Dforged", isRedelivery = false, type = "InvoiceSettled", timestamp = 1735689701,
            storeId = LightningFake.StoreId, invoiceId, metadata = new { orderId = $"aisa-deposit-{answer.GetProperty("depositId").GetInt64()}", depositId = answer.GetProperty("depositId").GetInt64() },
        });
        var signature = Sign(body, LightningFake.WebhookSecret);
        var unsigned = await DeliverAsync(client, body, null);
        var changed = await DeliverAsync(client, body.Replace("Dforged", "Dforgex", StringComparison.Ordinal), signature);
        var notHex = await DeliverAsync(client, body, "sha256=not-hex");
        var otherScheme = await DeliverAsync(client, body, signature.Replace("sha256=", "sha512=", StringComparison.Ordinal));

        foreach (var refused in new[] { unsigned, changed, notHex, otherScheme })
        {
            Assert.Equal(400, refused.Code);
            Assert.Equal("invalid_signature", refused.Error);
        }
        Assert.Contains("missing", unsigned.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
        Assert.True((await DepositAsync(client, agent.SessionToken)).Is("pending"));

        // The same body, signed right: the one that counts.
        Assert.Equal(200, (await DeliverAsync(client, body, signature)).Code);
        Assert.Equal(2m, await client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task An_invoice_expired_unpaid_expires_its_deposit_by_webhook_or_by_the_watcher_and_a_payment_after_it_is_not_credited()
    {
        var (factory, client) = await StartAsync();
        var agent = await client.RegisterAgentAsync();
        var (first, _) = await LightningWatch.TopUpAsync(client, agent.SessionToken, 1m);
        var (second, _) = await LightningWatch.TopUpAsync(client, agent.SessionToken, 1m);
        var deposits = await EvmWatch.DepositsAsync(client, agent.SessionToken);
        string InvoiceOf(JsonElement answer) =>
            deposits.Single(d => d.GetProperty("id").GetInt64() == answer.GetProperty("depositId").GetInt64()).GetProperty("address").GetString()!;

        await _btcpay.ExpireAsync(InvoiceOf(first));
        Assert.Equal(new[] { 200 }, await _btcpay.WebhookAsync(InvoiceOf(first), type: "InvoiceExpired"));
        await _btcpay.ExpireAsync(InvoiceOf(second));
        await LightningWatch.RunOnePassAsync(factory, client);

        Assert.All(await EvmWatch.DepositsAsync(client, agent.SessionToken), d => Assert.True(d.Is("expired"), d.ToString()));
        Assert.Equal("Expired", (await LightningWatch.EvidenceAsync(client, first.GetProperty("depositId").GetInt64(), "expired")).GetProperty("status").GetString());
        Assert.Equal("watcher", (await LightningWatch.EvidenceAsync(client, second.GetProperty("depositId").GetInt64(), "expired")).GetProperty("source").GetString());

        // Settled after its deposit expired (BTCPay marked by hand, say): told to the operator, credited to nobody.
        await _btcpay.PayAsync(InvoiceOf(first));
        Assert.Equal(new[] { 200 }, await _btcpay.WebhookAsync(InvoiceOf(first)));
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
        var noted = (await LightningWatch.OperatorViewAsync(client, first.GetProperty("depositId").GetInt64())).GetProperty("transitions").EnumerateArray().Last();
        Assert.Equal("expired", noted.GetProperty("to").GetString());
        Assert.True(noted.GetProperty("evidence").GetProperty("settledAfterClosed").GetBoolean());
    }

    [Fact]
    public async Task Invoices_marked_settled_unpaid_marked_invalid_or_no_longer_known_fail_their_deposit_with_the_evidence_and_credit_nothing()
    {
        var (factory, client) = await StartAsync();
        var agent = await client.RegisterAgentAsync();
        var answers = new List<JsonElement>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add((await LightningWatch.TopUpAsync(client, agent.SessionToken, 4m)).Answer);
        }
        var byId = (await EvmWatch.DepositsAsync(client, agent.SessionToken)).ToDictionary(d => d.GetProperty("id").GetInt64(), d => d.GetProperty("address").GetString()!);
        var invoices = answers.Select(a => byId[a.GetProperty("depositId").GetInt64()]).ToArray();

        await _btcpay.MarkAsync(invoices[0], "Settled");
        await _btcpay.MarkAsync(invoices[1], "Invalid");
        await _btcpay.ForgetAsync(invoices[2]);
        // Partly paid, then expired: BTCPay says Expired with PaidPartial.
        await _btcpay.PayAsync(invoices[3], amountMsat: 1_000_000);
        await _btcpay.ExpireAsync(invoices[3]);
        Assert.Equal(new[] { 200 }, await _btcpay.WebhookAsync(invoices[0]));
        await LightningWatch.RunOnePassAsync(factory, client);

        Assert.All(await EvmWatch.DepositsAsync(client, agent.SessionToken), d => Assert.True(d.Is("failed"), d.ToString()));
        var refused = new List<string>();
        foreach (var answer in answers)
        {
            refused.Add((await LightningWatch.EvidenceAsync(client, answer.GetProperty("depositId").GetInt64(), "failed")).GetProperty("refused").GetString()!);
        }
        Assert.Equal("paid 0 msat of the 4000000 asked: never credited; for an operator.", refused[0]);
        Assert.Equal("the backend marked the invoice invalid.", refused[1]);
        Assert.Equal("the backend has no such invoice any more.", refused[2]);
        Assert.Equal("paid 1000000 msat of the 4000000 asked: never credited; for an operator.", refused[3]);
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task BTCPay_down_answering_500_or_garbage_refuses_the_top_up_and_the_webhook_then_after_recovery_credits_once()
    {
        var (factory, client) = await StartAsync();
        var agent = await client.RegisterAgentAsync();

        foreach (var (fault, says) in new[] { ("down", "could not be reached"), ("500", "HTTP 500"), ("garbage", "not JSON") })
        {
            await _btcpay.FaultAsync(fault);
            var refused = await client.PostAsync("/api/agent/topup/create-session", new { amount = 5m, rail = "lightning" }, AisaClient.Bearer(agent.SessionToken));
            Assert.Equal(502, refused.Code);
            Assert.Equal("lightning_unavailable", refused.Error);
            Assert.Contains(says, refused.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain(LightningFake.ApiKey, refused.Raw, StringComparison.Ordinal);
        }
        await _btcpay.FaultAsync("none");
        Assert.All(await EvmWatch.DepositsAsync(client, agent.SessionToken), d => Assert.True(d.Is("failed"), d.ToString()));

        var (answer, _) = await LightningWatch.TopUpAsync(client, agent.SessionToken, 5m);
        var depositId = answer.GetProperty("depositId").GetInt64();
        var invoiceId = (await LightningWatch.OperatorViewAsync(client, depositId)).GetProperty("deposit").GetProperty("address").GetString()!;
        await _btcpay.PayAsync(invoiceId);
        await _btcpay.FaultAsync("500");

        // Not applied now: 503, so BTCPay delivers it again; and the watcher's pass fails, closing nothing.
        Assert.Equal(new[] { 503 }, await _btcpay.WebhookAsync(invoiceId));
        var failed = await LightningWatch.RunOnePassAsync(factory, client);
        Assert.Equal("failed", failed.GetProperty("outcome").GetString());
        Assert.Contains("1 of 1 open invoices could not be read from btcpay", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));

        await _btcpay.FaultAsync("none");
        Assert.Equal(new[] { 200, 200 }, await _btcpay.WebhookAsync(invoiceId, times: 2));
        Assert.Equal("succeeded", (await LightningWatch.RunOnePassAsync(factory, client)).GetProperty("outcome").GetString());
        Assert.Equal(5m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
    }

    [Fact]
    public async Task The_confirmations_page_shows_lightning_deposits_open_settled_and_expired_with_their_evidence()
    {
        var (factory, client) = await StartAsync();
        var agent = await client.RegisterAgentAsync();
        var answers = new List<System.Text.Json.JsonElement>();
        for (var i = 0; i < 3; i++)
        {
            answers.Add((await LightningWatch.TopUpAsync(client, agent.SessionToken, 1.5m)).Answer);
        }
        var byId = (await EvmWatch.DepositsAsync(client, agent.SessionToken)).ToDictionary(d => d.GetProperty("id").GetInt64(), d => d.GetProperty("address").GetString()!);
        var ids = answers.Select(a => a.GetProperty("depositId").GetInt64()).ToArray();
        await _btcpay.PayAsync(byId[ids[1]]);
        Assert.Equal(new[] { 200 }, await _btcpay.WebhookAsync(byId[ids[1]]));
        await _btcpay.ExpireAsync(byId[ids[2]]);
        Assert.Equal(new[] { 200 }, await _btcpay.WebhookAsync(byId[ids[2]], type: "InvoiceExpired"));

        using var operatorClient = await Dashboard.OperatorLogin.LoggedInAsync(factory);
        var page = JsonDocument.Parse(await operatorClient.GetStringAsync(new Uri("/dashboard/api/confirmations", UriKind.Relative))).RootElement;

        var rows = page.GetProperty("deposits").EnumerateArray().Where(d => d.GetProperty("rail").GetString() == "lightning").ToDictionary(d => d.GetProperty("id").GetInt64());
        Assert.Equal(["pending", "credited", "expired"], ids.Select(id => rows[id].GetProperty("state").GetString()));
        Assert.All(rows.Values, r => Assert.Equal("when settled", r.GetProperty("finality").GetString()));
        for (var i = 0; i < 3; i++)
        {
            var hash = answers[i].GetProperty("paymentHash").GetString();
            Assert.Equal($"ref {hash} at {byId[ids[i]]}", rows[ids[i]].GetProperty("evidence").GetString());
        }
        Assert.Equal("invoice", rows[ids[0]].GetProperty("latestEvidence").GetProperty("made").GetString());
        Assert.Equal("0.00001500", rows[ids[0]].GetProperty("latestEvidence").GetProperty("btc").GetString());
        Assert.Equal("Settled", rows[ids[1]].GetProperty("latestEvidence").GetProperty("status").GetString());
        Assert.Equal($"deposit:lightning:{answers[1].GetProperty("paymentHash").GetString()}", rows[ids[1]].GetProperty("latestEvidence").GetProperty("ledgerKey").GetString());
        Assert.Equal("Expired", rows[ids[2]].GetProperty("latestEvidence").GetProperty("status").GetString());
        Assert.Contains(page.GetProperty("watchers").EnumerateArray(), w => w.GetProperty("job").GetString() == LightningWatch.Job);
    }

    [Fact]
    public async Task An_invoice_of_another_network_is_never_handed_out()
    {
        var (_, client) = await StartAsync();
        var agent = await client.RegisterAgentAsync();
        await _btcpay.NetworkAsync("testnet");

        var refused = await client.PostAsync("/api/agent/topup/create-session", new { amount = 5m, rail = "lightning" }, AisaClient.Bearer(agent.SessionToken));

        Assert.Equal(502, refused.Code);
        Assert.Equal("lightning_invalid_invoice", refused.Error);
        Assert.Contains("it is an invoice of Testnet, and this service takes Mainnet.", refused.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("lntb", refused.Raw, StringComparison.Ordinal);
        var deposit = await DepositAsync(client, agent.SessionToken);
        Assert.True(deposit.Is("failed"));
    }
}
