using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>
/// One service with every rail that pays a request here enabled at once, and one 402 that lists them all: the wallet
/// (funded by a card on a FAKE Stripe, its webhook signed by the official stripe package), x402 on two networks (two
/// ganache chains, the official facilitator and client), and Lightning's L402 (a FAKE LND whose invoices bolt11 signs).
/// A crawler picks any, and each pays its request once.
/// </summary>
public sealed class EveryRailTests : IAsyncLifetime
{
    private const long SecondChainId = X402NetworksTests.SecondChainId;
    private const string StripeWebhookSecret = "whsec_every_rail";
    private readonly List<IAsyncDisposable> _owned = [];
    private Ganache _first = null!;
    private Ganache _second = null!;
    private LightningFake _lnd = null!;
    private FakeStripe _stripe = null!;
    private AisaClient _client = null!;

    private static string Network(long chainId) => X402NetworksTests.Network(chainId);

    public async Task InitializeAsync()
    {
        _first = await Ganache.StartAsync(EvmWatch.ChainId);
        _owned.Add(_first);
        _second = await Ganache.StartAsync(SecondChainId);
        _owned.Add(_second);
        var settings = new Dictionary<string, string>
        {
            ["Rails:Stripe:SecretKey"] = FakeStripe.SecretKey,
            ["Rails:Stripe:WebhookSecret"] = StripeWebhookSecret,
            ["Rails:Stripe:SuccessUrl"] = "https://agent.example/done?session_id={CHECKOUT_SESSION_ID}",
            ["Rails:Stripe:CancelUrl"] = "https://agent.example/cancel",
            ["Rails:Stripe:PollIntervalSeconds"] = "600",
            ["Scheduling:LeaseSeconds"] = "5",
        };
        await X402NetworksTests.AddNetworkAsync(settings, 0, _first, "0x1111111111111111111111111111111111111111");
        await X402NetworksTests.AddNetworkAsync(settings, 1, _second, "0x2222222222222222222222222222222222222222");
        var facilitator = await X402Facilitator.StartAsync([_first, _second]);
        _owned.Add(facilitator);
        settings["Rails:X402:FacilitatorUrl"] = facilitator.Url.ToString();
        _lnd = await LightningFake.StartAsync();
        _owned.Add(_lnd);
        foreach (var (key, value) in _lnd.Settings("lnd"))
        {
            settings[key] = value;
        }
        _stripe = await FakeStripe.StartAsync();
        _owned.Add(_stripe);
        settings["Rails:Stripe:ApiBaseUrl"] = _stripe.Url.ToString();
        var store = await TestStore.CreateAsync(StorageOptions.Postgres);
        _owned.Add(store);
        var factory = new SettlementFactory(store, settings);
        _owned.Add(factory);
        _client = new AisaClient(factory.CreateClient());
    }

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }
    }

    [Fact]
    public async Task One_402_lists_every_rail_and_each_pays_its_request_once()
    {
        var (domain, session, site, siteUrl) = await X402TopUpTests.PublisherSiteAsync(_client);
        await using var _ = site;
        using var http = new HttpClient();

        // Without an account: every way at once, in the body, in Link, and in each rail's own header.
        var unpaid = await _client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/0", crawlerAutoPrice = true }, null);
        Assert.Equal((402, "payment_required"), (unpaid.Code, unpaid.Error));
        var offers = unpaid.Body.GetProperty("offers").EnumerateArray()
            .Select(o => $"{o.GetProperty("rail").GetString()}:{o.GetProperty("kind").GetString()}{(o.TryGetProperty("network", out var n) ? ":" + n.GetString() : "")}").ToList();
        Assert.Equal(new[]
        {
            $"x402:per-request:{Network(EvmWatch.ChainId)}", $"x402:per-request:{Network(SecondChainId)}", "lightning:per-request", "aisa-wallet:wallet",
            "lightning:top-up", "stripe:top-up", "x402:top-up",
        }.Order(), offers.Order());
        Assert.Equal(offers.Count, unpaid.Header("Link")!.Split(", ").Length);
        Assert.Equal(unpaid.Body.GetProperty("offers")[0].GetProperty("rail").GetString(), unpaid.Body.GetProperty("offer").GetProperty("rail").GetString());
        Assert.Equal(2, JsonNode.Parse(Convert.FromBase64String(unpaid.Header("PAYMENT-REQUIRED")!))!["accepts"]!.AsArray().Count);
        Assert.StartsWith("L402 macaroon=", unpaid.Header("WWW-Authenticate"), StringComparison.Ordinal);

        // x402 on the first network, then on the second.
        var first = await X402Facilitator.PayAsync(new Uri(siteUrl, "/article/1"), "GET", EvmWatch.ChainId);
        Assert.True(first["status"]!.GetValue<int>() == 200, first.ToJsonString());
        var second = await X402Facilitator.PayAsync(new Uri(siteUrl, "/article/2"), "GET", SecondChainId);
        Assert.True(second["status"]!.GetValue<int>() == 200, second.ToJsonString());

        // Lightning: the challenge from the site's 402, the invoice paid, the preimage sent.
        using var challenged = await http.GetAsync(new Uri(siteUrl, "/article/3"));
        var challenge = Regex.Match(string.Join(", ", challenged.Headers.WwwAuthenticate.Select(h => h.ToString())), "macaroon=\"([^\"]+)\", invoice=\"([^\"]+)\"");
        Assert.True(challenge.Success);
        var preimage = await _lnd.PayForPreimageAsync(challenge.Groups[2].Value);
        async Task<HttpResponseMessage> GetWithL402Async()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(siteUrl, "/article/3"));
            request.Headers.TryAddWithoutValidation("Authorization", $"L402 {challenge.Groups[1].Value}:{preimage}");
            return await http.SendAsync(request);
        }
        using (var paid = await GetWithL402Async())
        {
            Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        }

        // The wallet, funded by the card top-up its 402 offered.
        var agent = await _client.RegisterAgentAsync();
        var verify = new { publisherDomain = domain, resourceUrl = "/article/4", crawlerAutoPrice = true };
        var short_ = await _client.VerifyAsync(verify, agent.CrawlerToken);
        Assert.Equal("insufficient_balance", short_.Error);
        var card = short_.Body.GetProperty("offers").EnumerateArray().Single(o => o.GetProperty("rail").GetString() == "stripe");
        var topUp = await _client.SendAsync(HttpMethod.Post, new Uri(card.GetProperty("paymentUrl").GetString()!).PathAndQuery, card.GetProperty("body").GetRawText(),
            AisaClient.Bearer(agent.SessionToken));
        Assert.True(topUp.Code == 200, topUp.Raw);
        var checkout = topUp.Body.GetProperty("sessionId").GetString()!;
        _stripe.Pay(checkout);
        var completed = _stripe.Event("checkout.session.completed", checkout);
        using var delivery = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks/stripe") { Content = new StringContent(completed, new System.Text.UTF8Encoding(false), "application/json") };
        delivery.Headers.TryAddWithoutValidation("Stripe-Signature", await FakeStripe.SignAsync(completed, StripeWebhookSecret));
        Assert.Equal(HttpStatusCode.OK, (await _client.Http.SendAsync(delivery)).StatusCode);
        var retry = new Dictionary<string, string> { ["Idempotency-Key"] = "article-4" };
        var charged = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => _client.VerifyAsync(verify, agent.CrawlerToken, retry)));
        Assert.All(charged, c => Assert.Equal(200, c.Code));
        Assert.Equal(0.50m - 0.02m, await _client.BalanceAsync(agent.SessionToken));

        // Each paid once: sent again, nothing more is paid.
        await X402TopUpTests.AssertReplayRefusedAsync(new Uri(siteUrl, "/article/1"), first);
        await X402TopUpTests.AssertReplayRefusedAsync(new Uri(siteUrl, "/article/2"), second);
        using (var again = await GetWithL402Async())
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, again.StatusCode);
            Assert.Contains("payment_already_used", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        var earnings = await _client.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(session));
        Assert.Equal(4 * 0.02m, earnings.Body.GetProperty("earnings").GetProperty("grossCharges").GetDecimal());
        var audit = await _client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }
}
