using System.Net;
using System.Text.RegularExpressions;
using Aisa.Settlement.Adapters.Lightning.Bolt11;
using Aisa.Settlement.Client;
using Aisa.Settlement.Paywall;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>
/// One request paid by itself with Lightning (L402), against a FAKE Lightning backend (no Lightning node runs here): the
/// fake answers LND's REST API in its source's shapes with real BOLT11 invoices whose preimages only a payment reveals, as a
/// payer's node would learn them. The 402 carries the invoice and a macaroon sealed by the service; the paid retry carries the
/// macaroon and the preimage, and is answered 200 once.
/// </summary>
public abstract partial class L402RequestTests(string provider) : IAsyncLifetime
{
    protected LightningFake Lnd { get; private set; } = null!;
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly TestClock _clock = new();

    public async Task InitializeAsync() => Lnd = await LightningFake.StartAsync();

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
            await Lnd.DisposeAsync();
        }
    }

    protected async Task<TestStore> StoreAsync()
    {
        var store = await TestStore.CreateAsync(provider);
        _owned.Add(store);
        return store;
    }

    protected AisaClient Start(TestStore store, Action<Dictionary<string, string>>? settings = null)
    {
        var configured = Lnd.Settings("lnd");
        settings?.Invoke(configured);
        var factory = new SettlementFactory(store, configured, services => services.AddSingleton<TimeProvider>(_clock));
        _owned.Add(factory);
        return new AisaClient(factory.CreateClient());
    }

    /// <summary>A publisher charging 0.02 for /article/*.</summary>
    protected static async Task<(string Domain, string Session)> PublisherAsync(AisaClient client)
    {
        var (domain, session) = await client.RegisterPublisherAsync();
        await client.CreateRuleAsync(session, new NewRule("/article/", "pay", 0.02m));
        return (domain, session);
    }

    [GeneratedRegex("^L402 macaroon=\"([A-Za-z0-9_-]+)\", invoice=\"(ln[a-z0-9]+)\"$")]
    private static partial Regex Challenge();

    protected static (string Macaroon, string Invoice) ReadChallenge(string? header)
    {
        Assert.NotNull(header);
        var match = Challenge().Match(header);
        Assert.True(match.Success, header);
        return (match.Groups[1].Value, match.Groups[2].Value);
    }

    protected static Task<Reply> VerifyAsync(AisaClient client, string domain, string path, string? authorization = null, string? crawlerToken = null) =>
        client.VerifyAsync(new { publisherDomain = domain, resourceUrl = path, crawlerAutoPrice = true }, crawlerToken,
            authorization is null ? null : new Dictionary<string, string> { ["Authorization"] = authorization });

    protected static async Task<decimal> GrossChargesAsync(AisaClient client, string session) =>
        (await client.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(session))).Body.GetProperty("earnings").GetProperty("grossCharges").GetDecimal();

    [Fact]
    public async Task A_crawler_without_an_account_pays_one_request_with_L402_and_the_preimage_pays_it_once()
    {
        var client = Start(await StoreAsync());
        var (domain, session) = await PublisherAsync(client);

        var unpaid = await VerifyAsync(client, domain, "/article/1");

        Assert.Equal((402, "payment_required"), (unpaid.Code, unpaid.Error));
        var (macaroon, bolt11) = ReadChallenge(unpaid.Header("WWW-Authenticate"));
        // The invoice asks the exact price: 0.02 at the fake's 100,000 USD/BTC is 20 sat.
        var invoice = Bolt11Invoice.Decode(bolt11);
        Assert.Equal(20_000, invoice.AmountMsat);
        Assert.Equal(LightningNetwork.Mainnet, invoice.Network);
        var offers = unpaid.Body.GetProperty("offers").EnumerateArray().ToList();
        var lightning = offers.Single(o => o.GetProperty("kind").GetString() == "per-request");
        Assert.Equal("lightning", lightning.GetProperty("rail").GetString());
        Assert.Equal($"https://{domain}/article/1", lightning.GetProperty("paymentUrl").GetString());
        Assert.Equal(unpaid.Header("WWW-Authenticate"), lightning.GetProperty("challenge").GetString());
        // The single offer of existing clients is the preferred way, first in the list.
        Assert.Equal("lightning", unpaid.Body.GetProperty("offer").GetProperty("rail").GetString());
        Assert.Equal("lightning", unpaid.Header("Crawler-Price-Rail"));
        Assert.Contains(offers, o => o.GetProperty("rail").GetString() == "lightning" && o.GetProperty("kind").GetString() == "top-up");
        Assert.Contains("type=\"lightning\"", unpaid.Header("Link"), StringComparison.Ordinal);

        var preimage = await Lnd.PayForPreimageAsync(bolt11);
        var paid = await VerifyAsync(client, domain, "/article/1", $"L402 {macaroon}:{preimage}");

        Assert.True(paid.Code == 200, paid.Raw);
        Assert.Equal("USD 0.02", paid.Header("Crawler-Charged"));
        Assert.Equal(0.02m, await GrossChargesAsync(client, session));

        // The same preimage again, here or for another resource, pays nothing more.
        var again = await VerifyAsync(client, domain, "/article/1", $"L402 {macaroon}:{preimage}");
        Assert.Equal((402, "payment_already_used"), (again.Code, again.Error));
        // ... and its 402 offers a fresh invoice.
        Assert.NotEqual(bolt11, ReadChallenge(again.Header("WWW-Authenticate")).Invoice);
        Assert.Equal(0.02m, await GrossChargesAsync(client, session));

        // Invoices for one request are no deposits: nothing was opened, credited or left pending for the watcher.
        var deposits = await client.SendAsync(HttpMethod.Get, "/api/operator/deposits", headers: AisaClient.Operator());
        Assert.Empty(deposits.Body.GetProperty("deposits").EnumerateArray());
        var audit = await client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    [Fact]
    public async Task A_wrong_preimage_a_changed_macaroon_or_a_macaroon_for_another_resource_is_refused_and_moves_nothing()
    {
        var client = Start(await StoreAsync());
        var (domain, session) = await PublisherAsync(client);
        var (macaroon, bolt11) = ReadChallenge((await VerifyAsync(client, domain, "/article/2")).Header("WWW-Authenticate"));
        var preimage = await Lnd.PayForPreimageAsync(bolt11);
        var tampered = macaroon[..10] + (macaroon[10] == 'A' ? 'B' : 'A') + macaroon[11..];
        var unpaidPreimage = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

        foreach (var (path, authorization, error) in new[]
                 {
                     ("/article/2", $"L402 {macaroon}:{unpaidPreimage}", "invalid_preimage"),
                     ("/article/2", $"L402 {macaroon}:{preimage[..62]}", "invalid_preimage"),
                     ("/article/2", $"L402 {tampered}:{preimage}", "invalid_macaroon"),
                     ("/article/2", $"L402 {macaroon}", "invalid_payment"),
                     ("/article/3", $"L402 {macaroon}:{preimage}", "payment_for_other_resource"),
                 })
        {
            var refused = await VerifyAsync(client, domain, path, authorization);
            Assert.True((402, error) == (refused.Code, refused.Error), $"{authorization[..20]}…: {refused.Raw}");
            Assert.NotNull(refused.Header("WWW-Authenticate"));
        }
        Assert.Equal(0m, await GrossChargesAsync(client, session));

        // The paid one still pays, once: a refusal used nothing up.
        var paid = await VerifyAsync(client, domain, "/article/2", $"LSAT {macaroon}:{preimage.ToUpperInvariant()}");
        Assert.True(paid.Code == 200, paid.Raw);
        Assert.Equal(0.02m, await GrossChargesAsync(client, session));
    }

    [Fact]
    public async Task Twenty_concurrent_retries_with_one_preimage_are_served_once()
    {
        var client = Start(await StoreAsync());
        var (domain, session) = await PublisherAsync(client);
        var (macaroon, bolt11) = ReadChallenge((await VerifyAsync(client, domain, "/article/4")).Header("WWW-Authenticate"));
        var preimage = await Lnd.PayForPreimageAsync(bolt11);

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => VerifyAsync(client, domain, "/article/4", $"L402 {macaroon}:{preimage}")));

        Assert.Single(answers, a => a.Code == 200);
        Assert.All(answers.Where(a => a.Code != 200), a => Assert.Equal((402, "payment_already_used"), (a.Code, a.Error)));
        Assert.Equal(0.02m, await GrossChargesAsync(client, session));
    }

    [Fact]
    public async Task A_crawler_whose_wallet_is_empty_is_offered_L402_beside_its_wallet_and_paying_it_leaves_the_wallet_alone()
    {
        var client = Start(await StoreAsync());
        var (domain, session) = await PublisherAsync(client);
        var agent = await client.RegisterAgentAsync();
        await client.FundAsync(agent.Id, 0.01m);

        var unpaid = await VerifyAsync(client, domain, "/article/5", crawlerToken: agent.CrawlerToken);

        Assert.Equal((402, "insufficient_balance"), (unpaid.Code, unpaid.Error));
        Assert.Equal("aisa-wallet", unpaid.Body.GetProperty("offer").GetProperty("rail").GetString());
        Assert.Equal(["aisa-wallet:wallet", "lightning:top-up", "lightning:per-request"],
            unpaid.Body.GetProperty("offers").EnumerateArray().Select(o => $"{o.GetProperty("rail").GetString()}:{o.GetProperty("kind").GetString()}"));
        var (macaroon, bolt11) = ReadChallenge(unpaid.Header("WWW-Authenticate"));

        var preimage = await Lnd.PayForPreimageAsync(bolt11);
        var paid = await client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/5", crawlerAutoPrice = true }, agent.CrawlerToken,
            new Dictionary<string, string> { ["Authorization"] = $"L402 {macaroon}:{preimage}" });

        Assert.True(paid.Code == 200, paid.Raw);
        Assert.Equal(0.01m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(0.02m, await GrossChargesAsync(client, session));
    }

    [Fact]
    public async Task A_backend_that_is_down_or_past_its_invoices_for_the_minute_leaves_L402_out_of_the_402_and_the_other_ways_in()
    {
        var client = Start(await StoreAsync(), settings => settings["Rails:Lightning:RequestInvoicesPerMinute"] = "1");
        var (domain, _) = await PublisherAsync(client);

        static bool OffersL402(Reply reply) =>
            reply.Header("WWW-Authenticate") is not null || reply.Body.GetProperty("offers").EnumerateArray().Any(o => o.GetProperty("kind").GetString() == "per-request");

        await Lnd.FaultAsync("500");
        var down = await VerifyAsync(client, domain, "/article/6");
        Assert.Equal((402, "payment_required"), (down.Code, down.Error));
        Assert.False(OffersL402(down), down.Raw);
        Assert.Equal("aisa-wallet", down.Body.GetProperty("offer").GetProperty("rail").GetString());
        Assert.Contains(down.Body.GetProperty("offers").EnumerateArray(), o => o.GetProperty("kind").GetString() == "top-up");
        // The invoice was asked for (on LND, the rate first) and the backend failed it.
        Assert.Contains("GET /rate", await Lnd.RequestsAsync());

        // One invoice a minute: the failed attempt took it.
        await Lnd.FaultAsync("none");
        var limited = await VerifyAsync(client, domain, "/article/6");
        Assert.Equal((402, "payment_required"), (limited.Code, limited.Error));
        Assert.False(OffersL402(limited), limited.Raw);

        _clock.Advance(TimeSpan.FromSeconds(61));
        Assert.True(OffersL402(await VerifyAsync(client, domain, "/article/6")));
        Assert.False(OffersL402(await VerifyAsync(client, domain, "/article/6")));
    }
}

public sealed class SqliteL402RequestTests() : L402RequestTests(StorageOptions.Sqlite);

public sealed class PostgresL402RequestTests() : L402RequestTests(StorageOptions.Postgres)
{
    [Fact]
    public async Task A_macaroon_made_by_one_instance_is_paid_on_another_once()
    {
        // Two instances of the service on one database, the key ring that seals macaroons shared through it.
        var lnd = await LightningFake.StartAsync();
        await using var _ = lnd;
        await using var store = await TestStore.CreateAsync(StorageOptions.Postgres);
        await using var first = new SettlementFactory(store, lnd.Settings("lnd"));
        await using var second = new SettlementFactory(store, lnd.Settings("lnd"));
        var one = new AisaClient(first.CreateClient());
        var other = new AisaClient(second.CreateClient());
        var (domain, session) = await one.RegisterPublisherAsync();
        await one.CreateRuleAsync(session, new NewRule("/article/", "pay", 0.02m));

        var unpaid = await one.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/9", crawlerAutoPrice = true }, null);
        var match = Regex.Match(unpaid.Header("WWW-Authenticate")!, "macaroon=\"([^\"]+)\", invoice=\"([^\"]+)\"");
        var preimage = await lnd.PayForPreimageAsync(match.Groups[2].Value);
        var authorization = new Dictionary<string, string> { ["Authorization"] = $"L402 {match.Groups[1].Value}:{preimage}" };

        var answers = await Task.WhenAll(
            other.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/9", crawlerAutoPrice = true }, null, authorization),
            one.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/9", crawlerAutoPrice = true }, null, authorization));

        Assert.Equal([200, 402], answers.Select(a => a.Code).Order());
        Assert.Equal("payment_already_used", answers.Single(a => a.Code == 402).Error);
        var earnings = await other.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(session));
        Assert.Equal(0.02m, earnings.Body.GetProperty("earnings").GetProperty("grossCharges").GetDecimal());
    }

    [Fact]
    public async Task On_BTCPay_the_invoice_is_a_store_invoice_naming_no_deposit_and_its_webhook_credits_nothing()
    {
        await using var store = await TestStore.CreateAsync(StorageOptions.Postgres);
        await using var factory = new SettlementFactory(store, Lnd.Settings("btcpay"));
        var client = new AisaClient(factory.CreateClient());
        await Lnd.WebhookToAsync(new Uri(client.Http.BaseAddress!, "/api/webhooks/lightning"));
        var (domain, session) = await PublisherAsync(client);
        var (macaroon, bolt11) = ReadChallenge((await VerifyAsync(client, domain, "/article/11")).Header("WWW-Authenticate"));
        Assert.Contains(await Lnd.RequestsAsync(), r => r.StartsWith($"POST /api/v1/stores/{LightningFake.StoreId}/invoices", StringComparison.Ordinal));

        var preimage = await Lnd.PayForPreimageAsync(bolt11);
        var paid = await VerifyAsync(client, domain, "/article/11", $"L402 {macaroon}:{preimage}");

        Assert.True(paid.Code == 200, paid.Raw);
        // BTCPay's webhook for the settled invoice is taken and passed over: no deposit, no credit.
        var statuses = await Lnd.WebhookAsync(bolt11);
        Assert.Equal(new[] { 200 }, statuses);
        var deposits = await client.SendAsync(HttpMethod.Get, "/api/operator/deposits", headers: AisaClient.Operator());
        Assert.Empty(deposits.Body.GetProperty("deposits").EnumerateArray());
        Assert.Equal(0.02m, await GrossChargesAsync(client, session));
        var audit = await client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    [Fact]
    public async Task Through_the_paywall_a_crawler_reads_the_challenge_pays_and_is_served_once()
    {
        var client = Start(await StoreAsync());
        var (domain, session) = await PublisherAsync(client);
        var (site, siteUrl) = await LocalSite.StartAsync(
            services => services.AddAisaPaywall(new PaywallOptions { GatewayUrl = client.Http.BaseAddress!, PublisherDomain = domain }),
            app => app.MapGet("/article/{id}", (string id) => Results.Text($"the text of article {id}")).RequireCrawlerPayment());
        await using var _ = site;
        using var http = new HttpClient();

        using var unpaid = await http.GetAsync(new Uri(siteUrl, "/article/10"));
        Assert.Equal(HttpStatusCode.PaymentRequired, unpaid.StatusCode);
        var wwwAuthenticate = unpaid.Headers.WwwAuthenticate.Select(h => h.ToString()).ToList();
        var (macaroon, bolt11) = ReadChallenge(string.Join(", ", wwwAuthenticate));
        var paidInvoices = new List<string>();
        var payer = new L402Payer(async (invoice, _) =>
        {
            paidInvoices.Add(invoice);
            return await Lnd.PayForPreimageAsync(invoice);
        });
        var challenge = L402Payer.ReadChallenge(wwwAuthenticate);
        Assert.Equal(new L402Challenge(macaroon, bolt11), challenge);
        var authorization = await payer.AuthorizeAsync(challenge!);

        async Task<HttpResponseMessage> GetPaidAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(siteUrl, "/article/10"));
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
            return await http.SendAsync(request);
        }
        using var paid = await GetPaidAsync();
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        Assert.Equal("the text of article 10", await paid.Content.ReadAsStringAsync());
        using var replay = await GetPaidAsync();
        Assert.Equal(HttpStatusCode.PaymentRequired, replay.StatusCode);
        Assert.Contains("payment_already_used", await replay.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0.02m, await GrossChargesAsync(client, session));

        // The typed client's payer in one call: the 402 read, a new invoice paid, the request served.
        using var second = await payer.GetAsync(http, new Uri(siteUrl, "/article/11"));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("the text of article 11", await second.Content.ReadAsStringAsync());
        Assert.Equal(2, paidInvoices.Distinct().Count());
        Assert.Equal(0.04m, await GrossChargesAsync(client, session));
    }
}
