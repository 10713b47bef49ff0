using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>
/// Lightning top-ups through LND's REST API, against a FAKE LND (no Lightning node runs here) built from the shapes of its
/// source — protojson with int64 as strings and hashes as base64, its gRPC error bodies, the invoice subscription that
/// replays settlements after a settle_index — whose invoices are real BOLT11 strings signed by the bolt11 npm package.
/// The watcher is paused and run on request, so each pass is one the test asked for.
/// </summary>
public sealed class LndFakeTopUpTests : IAsyncLifetime
{
    private LightningFake _lnd = null!;
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task InitializeAsync() => _lnd = await LightningFake.StartAsync();

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
            await _lnd.DisposeAsync();
        }
    }

    private async Task<(SettlementFactory Factory, AisaClient Client)> StartAsync(Action<Dictionary<string, string>>? settings = null, bool waitForPass = true)
    {
        var store = await TestStore.CreateAsync(StorageOptions.Postgres);
        _owned.Add(store);
        var configured = _lnd.Settings("lnd");
        configured["Scheduling:LeaseSeconds"] = "5";
        settings?.Invoke(configured);
        var factory = new SettlementFactory(store, configured);
        _owned.Add(factory);
        var client = new AisaClient(factory.CreateClient());
        if (waitForPass)
        {
            await LightningWatch.WaitForFirstPassAsync(client);
            await LightningWatch.PauseAsync(factory);
        }
        return (factory, client);
    }

    [Fact]
    public async Task Settled_invoices_are_credited_once_at_the_dollars_the_rate_fixed_first_by_reading_them_then_by_replaying_from_the_settle_index()
    {
        var (factory, client) = await StartAsync();
        var agent = await client.RegisterAgentAsync();

        var (first, invoice) = await LightningWatch.TopUpAsync(client, agent.SessionToken, 5m);

        // $5 at the rate source's $100,000 per bitcoin: 5,000 sat, asked as value_msat.
        Assert.Equal(5_000_000, invoice.AmountMsat);
        Assert.Equal(5_000_000, first.GetProperty("amountMsat").GetInt64());
        var firstId = first.GetProperty("depositId").GetInt64();
        var made = (await LightningWatch.OperatorViewAsync(client, firstId)).GetProperty("transitions").EnumerateArray()
            .Single(t => t.GetProperty("evidence").TryGetProperty("made", out _)).GetProperty("evidence");
        Assert.Equal("100000", made.GetProperty("rate").GetString());
        Assert.Equal("127.0.0.1", made.GetProperty("rateSource").GetString());
        Assert.Equal("5", made.GetProperty("usd").GetString());
        Assert.Contains("POST /v1/invoices", await _lnd.RequestsAsync());

        // Bitcoin halves before the payment: the dollars credited are those fixed when the invoice was made.
        await _lnd.RateAsync(50_000m);
        await _lnd.PayAsync(invoice.PaymentHash);
        var pass = await LightningWatch.RunOnePassAsync(factory, client);
        Assert.Equal("succeeded", pass.GetProperty("outcome").GetString());
        Assert.Equal(5m, await client.BalanceAsync(agent.SessionToken));
        var byReading = await LightningWatch.EvidenceAsync(client, firstId, "credited");
        Assert.Equal("watcher", byReading.GetProperty("source").GetString());
        Assert.Equal(1, byReading.GetProperty("settleIndex").GetInt64());
        Assert.Equal($"deposit:lightning:{invoice.PaymentHash}", (await LightningWatch.OperatorViewAsync(client, firstId)).GetProperty("ledgerKey").GetString());

        // From now on the settlements come from the replay after settle index 1; another app's invoice on the node is none of ours.
        var (second, secondInvoice) = await LightningWatch.TopUpAsync(client, agent.SessionToken, 2m);
        await _lnd.ForeignPaymentAsync();
        await _lnd.PayAsync(secondInvoice.PaymentHash);
        var secondId = second.GetProperty("depositId").GetInt64();
        // A replay hears only what LND sends before it falls quiet for a second: a pass on a stalled machine may hear
        // nothing, and the next one hears it from the same settle index.
        for (var attempt = 1; !(await EvmWatch.DepositsAsync(client, agent.SessionToken)).Any(d => d.GetProperty("id").GetInt64() == secondId && d.Is("credited")); attempt++)
        {
            Assert.True(attempt <= 10, "Ten passes did not credit the invoice settled after settle index 1.");
            Assert.Equal("succeeded", (await LightningWatch.RunOnePassAsync(factory, client)).GetProperty("outcome").GetString());
        }

        Assert.Equal("settle_index 3", (await LightningWatch.EvidenceAsync(client, secondId, "credited")).GetProperty("source").GetString());
        var after = await LightningWatch.RunOnePassAsync(factory, client);
        Assert.Equal(3, after.GetProperty("summary").GetProperty("settleIndex").GetInt64());
        Assert.Equal(0, after.GetProperty("summary").GetProperty("read").GetInt64());
        await LightningWatch.RunOnePassAsync(factory, client);
        Assert.Equal(7m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(2, (await EvmWatch.DepositEntriesAsync(client, agent.SessionToken)).Length);
        Assert.Equal(2, (await EvmWatch.DepositsAsync(client, agent.SessionToken)).Length);
        Assert.Equal(0m, await SolanaWatch.SuspenseAsync(client));

        var webhook = await client.PostAsync("/api/webhooks/lightning", new { type = "InvoiceSettled" });
        Assert.Equal(404, webhook.Code);
        Assert.Equal("webhook_not_used", webhook.Error);
    }

    [Fact]
    public async Task A_cancelled_invoice_expires_its_deposit_and_one_settled_for_less_or_no_longer_known_fails_it_with_the_evidence()
    {
        var (factory, client) = await StartAsync();
        var agent = await client.RegisterAgentAsync();
        var (cancelled, cancelledInvoice) = await LightningWatch.TopUpAsync(client, agent.SessionToken, 1m);
        var (underpaid, underpaidInvoice) = await LightningWatch.TopUpAsync(client, agent.SessionToken, 1m);
        var (forgotten, forgottenInvoice) = await LightningWatch.TopUpAsync(client, agent.SessionToken, 1m);

        await _lnd.ExpireAsync(cancelledInvoice.PaymentHash);
        await _lnd.PayAsync(underpaidInvoice.PaymentHash, amountMsat: 400_000);
        await _lnd.ForgetAsync(forgottenInvoice.PaymentHash);
        await LightningWatch.RunOnePassAsync(factory, client);

        long Id(System.Text.Json.JsonElement answer) => answer.GetProperty("depositId").GetInt64();
        var states = (await EvmWatch.DepositsAsync(client, agent.SessionToken)).ToDictionary(d => d.GetProperty("id").GetInt64(), d => d.GetProperty("state").GetString());
        Assert.Equal("expired", states[Id(cancelled)]);
        Assert.Equal("failed", states[Id(underpaid)]);
        Assert.Equal("failed", states[Id(forgotten)]);
        Assert.Equal("CANCELED", (await LightningWatch.EvidenceAsync(client, Id(cancelled), "expired")).GetProperty("state").GetString());
        var short_ = await LightningWatch.EvidenceAsync(client, Id(underpaid), "failed");
        Assert.Equal("paid 400000 msat of the 1000000 asked: never credited; for an operator.", short_.GetProperty("refused").GetString());
        Assert.Equal("SETTLED", short_.GetProperty("state").GetString());
        var unknown = await LightningWatch.EvidenceAsync(client, Id(forgotten), "failed");
        Assert.Equal("the backend has no such invoice any more.", unknown.GetProperty("refused").GetString());
        Assert.Equal("unable to locate invoice", unknown.GetProperty("message").GetString());
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task LND_or_its_rate_source_away_or_a_wrong_macaroon_refuses_the_top_up_and_names_no_secret()
    {
        var (_, client) = await StartAsync(s => s["Rails:Lightning:Lnd:MacaroonHex"] = "ab0123456789", waitForPass: false);
        var agent = await client.RegisterAgentAsync();

        var wrongMacaroon = await client.PostAsync("/api/agent/topup/create-session", new { amount = 5m, rail = "lightning" }, AisaClient.Bearer(agent.SessionToken));
        await _lnd.FaultAsync("down");
        var away = await client.PostAsync("/api/agent/topup/create-session", new { amount = 5m, rail = "lightning" }, AisaClient.Bearer(agent.SessionToken));

        Assert.Equal(502, wrongMacaroon.Code);
        Assert.Equal("lightning_unavailable", wrongMacaroon.Error);
        Assert.Contains("LND answered the request to add an invoice with HTTP 500: verification failed", wrongMacaroon.Raw, StringComparison.Ordinal);
        Assert.Equal(502, away.Code);
        Assert.Contains("The BTC/USD rate source could not be reached", away.Raw, StringComparison.Ordinal);
        foreach (var reply in new[] { wrongMacaroon, away })
        {
            Assert.DoesNotContain("ab0123456789", reply.Raw, StringComparison.Ordinal);
        }
        Assert.All(await EvmWatch.DepositsAsync(client, agent.SessionToken), d => Assert.True(d.Is("failed"), d.ToString()));
    }

    [Fact]
    public async Task LND_behind_its_self_signed_certificate_is_trusted_by_its_pin_and_by_nothing_else()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=lnd-fake", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var https = await _lnd.TlsAsync(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
        var pin = Convert.ToHexString(SHA256.HashData(certificate.RawData));
        var colons = string.Join(":", Enumerable.Range(0, 32).Select(i => pin.Substring(2 * i, 2)));
        var otherPin = Convert.ToHexString(SHA256.HashData("another certificate"u8));

        async Task<Reply> TopUpAsync(string? thumbprint)
        {
            var (_, client) = await StartAsync(s =>
            {
                s["Rails:Lightning:Lnd:RestUrl"] = https.ToString();
                if (thumbprint is not null)
                {
                    s["Rails:Lightning:Lnd:TlsCertificateThumbprint"] = thumbprint;
                }
            }, waitForPass: false);
            var agent = await client.RegisterAgentAsync();
            return await client.PostAsync("/api/agent/topup/create-session", new { amount = 1m, rail = "lightning" }, AisaClient.Bearer(agent.SessionToken));
        }

        var pinned = await TopUpAsync(colons);
        var wrong = await TopUpAsync(otherPin);
        var unpinned = await TopUpAsync(null);

        Assert.True(pinned.Code == 201, pinned.Raw);
        foreach (var refused in new[] { wrong, unpinned })
        {
            Assert.Equal(502, refused.Code);
            Assert.Contains("LND could not be reached for POST /v1/invoices", refused.Raw, StringComparison.Ordinal);
            Assert.Contains("certificate", refused.Raw, StringComparison.OrdinalIgnoreCase);
        }
    }
}
