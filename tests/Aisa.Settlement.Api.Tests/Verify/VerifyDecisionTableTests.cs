using System.Net;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Storage;
using Microsoft.Extensions.DependencyInjection;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Verify;

/// <summary>Every row of the contract's decision table, through real HTTP against the running service, on both stores.</summary>
public abstract class VerifyDecisionTableTests(string provider) : ServiceTests(provider)
{
    private const decimal Price = 0.01m;

    private async Task<(Registered Agent, string Domain, string PublisherSession)> MarketAsync(NewRule? rule = null, decimal funds = 1m, string? crawlerType = null)
    {
        var agent = await Client.RegisterAgentAsync(crawlerType);
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, rule ?? new NewRule("/article/", "pay", Price));
        if (funds > 0)
        {
            await Client.FundAsync(agent.Id, funds);
        }
        return (agent, domain, session);
    }

    private static void AssertShape(Reply reply, HttpStatusCode status, string? error)
    {
        Assert.True(reply.Status == status, $"{reply.Status}: {reply.Raw}");
        Assert.Equal((int)status, reply.Body.GetProperty("statusCode").GetInt32());
        Assert.Equal(status == HttpStatusCode.OK, reply.Body.GetProperty("accessGranted").GetBoolean());
        Assert.Equal(error, reply.Error);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"news.example.com\"")]
    [InlineData("not json")]
    [InlineData("")]
    [InlineData("{\"publisherDomain\": 42, \"resourceUrl\": \"/a\"}")]
    [InlineData("{\"publisherDomain\": \"a.example\", \"resourceUrl\": \"/a\", \"crawlerAutoPrice\": \"yes\"}")]
    [InlineData("{\"publisherDomain\": \"a.example\", \"resourceUrl\": \"/a\", \"surprise\": 1}")]
    public async Task Row_0_a_body_that_is_not_a_JSON_object_or_has_a_wrong_type_is_invalid_request(string body)
    {
        var reply = await Client.SendAsync(HttpMethod.Post, "/api/v1/access/verify", body);

        AssertShape(reply, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Theory]
    [InlineData("{\"resourceUrl\": \"/article/1\"}")]
    [InlineData("{\"publisherDomain\": \"a.example\"}")]
    [InlineData("{\"publisherDomain\": \"\", \"resourceUrl\": \"/article/1\"}")]
    [InlineData("{\"publisherDomain\": \"a.example\", \"resourceUrl\": \"\"}")]
    public async Task Row_1_a_missing_or_empty_publisher_or_resource_is_missing_fields(string body)
    {
        var reply = await Client.SendAsync(HttpMethod.Post, "/api/v1/access/verify", body);

        AssertShape(reply, HttpStatusCode.BadRequest, "missing_fields");
    }

    [Theory]
    [InlineData(true, "USD 0.01", null, null)]
    [InlineData(null, "USD 0.01", "crawler-max-price", "USD 1.00")]
    [InlineData(null, null, "crawler-exact-price", "USD abc")]
    [InlineData(null, "EUR 0.01", null, null)]
    [InlineData(null, "USD 0.0000001", null, null)]
    [InlineData(null, "USD -0.01", null, null)]
    public async Task Row_2_two_intents_or_an_unparsable_or_non_USD_price_is_invalid_price_intent(bool? auto, string? exact, string? header, string? headerValue)
    {
        var (agent, domain, _) = await MarketAsync();
        var headers = header is null ? null : new Dictionary<string, string> { [header] = headerValue! };

        var reply = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/1", crawlerAutoPrice = auto, crawlerExactPrice = exact }, agent.CrawlerToken, headers);

        AssertShape(reply, HttpStatusCode.BadRequest, "invalid_price_intent");
    }

    [Fact]
    public async Task Row_3_a_missing_unknown_or_Bearer_only_token_is_invalid_token()
    {
        var (agent, domain, _) = await MarketAsync();
        var body = new { publisherDomain = domain, resourceUrl = "/article/1", crawlerAutoPrice = true };

        var none = await Client.VerifyAsync(body, null);
        var unknown = await Client.VerifyAsync(body, "aisa_crawler_" + new string('0', 64));
        var malformed = await Client.VerifyAsync(body, "not-a-token");
        var bearer = await Client.VerifyAsync(body, null, AisaClient.Bearer(agent.CrawlerToken));

        foreach (var reply in new[] { none, unknown, malformed, bearer })
        {
            AssertShape(reply, HttpStatusCode.PaymentRequired, "invalid_token");
        }
        Assert.Contains("X-AISA-Crawler-Token", bearer.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        // A crawler without a wallet is told where a person opens one.
        var signUp = none.Body.GetProperty("onboarding").GetProperty("signUpUrl").GetString()!;
        Assert.EndsWith("/agent/signup", signUp, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await Client.Http.GetAsync(new Uri(signUp))).StatusCode);
        Assert.Equal(1m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task Row_3_the_token_in_the_body_works_and_a_rotated_out_token_stops_at_once()
    {
        var (agent, domain, _) = await MarketAsync();
        var body = new { publisherDomain = domain, resourceUrl = "/article/1", crawlerAutoPrice = true, crawlerToken = agent.CrawlerToken };
        AssertShape(await Client.VerifyAsync(body, null), HttpStatusCode.OK, null);

        var rotated = await Client.PostAsync("/api/agent/token/rotate", new { }, AisaClient.Bearer(agent.SessionToken));
        var newToken = rotated.Body.GetProperty("crawlerToken").GetString()!;

        AssertShape(await Client.VerifyAsync(body, null), HttpStatusCode.PaymentRequired, "invalid_token");
        AssertShape(await Client.VerifyAsync(body with { crawlerToken = newToken }, null), HttpStatusCode.OK, null);
    }

    [Fact]
    public async Task Row_4_an_unknown_publisher_is_404_with_the_crawler_identified()
    {
        var agent = await Client.RegisterAgentAsync("GPTBot");

        var reply = await Client.VerifyAsync(new { publisherDomain = "nobody.example.com", resourceUrl = "/x", crawlerAutoPrice = true }, agent.CrawlerToken);

        AssertShape(reply, HttpStatusCode.NotFound, "unknown_publisher");
        Assert.Equal("GPTBot", reply.Body.GetProperty("crawlerIdentification").GetProperty("identifier").GetString());
    }

    [Fact]
    public async Task Row_5_a_block_rule_for_the_crawler_type_is_403_and_others_are_not_blocked()
    {
        var (gpt, domain, session) = await MarketAsync(new NewRule("/", "pay", Price), crawlerType: "GPTBot");
        await Client.CreateRuleAsync(session, new NewRule("/", "block", CrawlerType: "GPTBot"));
        var other = await Client.RegisterAgentAsync("ClaudeBot");
        await Client.FundAsync(other.Id, 1m);
        var body = new { publisherDomain = domain, resourceUrl = "/article/1", crawlerAutoPrice = true };

        var blocked = await Client.VerifyAsync(body, gpt.CrawlerToken);
        var allowed = await Client.VerifyAsync(body, other.CrawlerToken);

        AssertShape(blocked, HttpStatusCode.Forbidden, "blocked");
        Assert.Equal("block", blocked.Body.GetProperty("rule").GetProperty("accessMode").GetString());
        AssertShape(allowed, HttpStatusCode.OK, null);
        Assert.Equal(1m, await Client.BalanceAsync(gpt.SessionToken));
    }

    [Fact]
    public async Task Row_6_a_free_rule_or_no_rule_grants_access_without_a_charge()
    {
        var (agent, domain, session) = await MarketAsync();
        await Client.CreateRuleAsync(session, new NewRule("/article/free/", "free"));

        var free = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "https://x.example/article/free/1?a=b", crawlerAutoPrice = true }, agent.CrawlerToken);
        var unpriced = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/about" }, agent.CrawlerToken);

        AssertShape(free, HttpStatusCode.OK, null);
        Assert.Equal("free", free.Body.GetProperty("rule").GetProperty("accessMode").GetString());
        Assert.False(free.Body.TryGetProperty("charge", out _));
        AssertShape(unpriced, HttpStatusCode.OK, null);
        Assert.False(unpriced.Body.TryGetProperty("rule", out _));
        Assert.Null(free.Header("Crawler-Charged"));
        Assert.Equal(1m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task Row_7_a_one_time_resource_is_charged_once_per_path_and_query()
    {
        var (agent, domain, _) = await MarketAsync(new NewRule("/report/", "pay", 0.25m, BillingType: "one-time"));
        Reply Verify(string url) => Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = url, crawlerAutoPrice = true }, agent.CrawlerToken).GetAwaiter().GetResult();

        var first = Verify("/report/1?page=2");
        var again = Verify("https://elsewhere.example/report/1?page=2");
        var otherQuery = Verify("/report/1?page=3");

        AssertShape(first, HttpStatusCode.OK, null);
        Assert.Equal(0.25m, first.Body.GetProperty("charge").GetProperty("amount").GetDecimal());
        AssertShape(again, HttpStatusCode.OK, null);
        Assert.Equal(0m, again.Body.GetProperty("charge").GetProperty("amount").GetDecimal());
        Assert.Null(again.Header("Crawler-Charged"));
        Assert.Equal(0.25m, otherQuery.Body.GetProperty("charge").GetProperty("amount").GetDecimal());
        Assert.Equal(0.5m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task Row_7_a_time_pass_covers_one_rolling_hour_then_is_bought_again()
    {
        var (agent, domain, _) = await MarketAsync(new NewRule("/feed/", "pay", 0.1m, BillingType: "time-pass-hour"));
        var body = new { publisherDomain = domain, resourceUrl = "/feed/today", crawlerAutoPrice = true };

        var bought = await Client.VerifyAsync(body, agent.CrawlerToken);
        Clock.Advance(TimeSpan.FromMinutes(59));
        var within = await Client.VerifyAsync(body with { resourceUrl = "/feed/other" }, agent.CrawlerToken);
        Clock.Advance(TimeSpan.FromMinutes(2));
        var renewed = await Client.VerifyAsync(body, agent.CrawlerToken);

        Assert.Equal(0.1m, bought.Body.GetProperty("charge").GetProperty("amount").GetDecimal());
        AssertShape(within, HttpStatusCode.OK, null);
        Assert.Equal(0m, within.Body.GetProperty("charge").GetProperty("amount").GetDecimal());
        Assert.Equal("time-pass-hour", within.Body.GetProperty("charge").GetProperty("billingType").GetString());
        Assert.Equal(0.1m, renewed.Body.GetProperty("charge").GetProperty("amount").GetDecimal());
        Assert.Equal(0.8m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task Row_8_no_price_intent_is_price_required_with_the_price_headers_and_offer()
    {
        var (agent, domain, _) = await MarketAsync();

        var reply = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/7" }, agent.CrawlerToken);

        AssertShape(reply, HttpStatusCode.PaymentRequired, "price_required");
        Assert.Equal("USD 0.01", reply.Header("Crawler-Price"));
        Assert.Equal("aisa-wallet", reply.Header("Crawler-Price-Rail"));
        // With no rail configured, the wallet is the only way to pay: one link, naming it.
        Assert.Matches("^<http://127\\.0\\.0\\.1:\\d+/api/agent/topup/create-session>; rel=\"payment\"; type=\"aisa-wallet\"$", reply.Header("Link"));
        Assert.Null(reply.Header("Retry-After"));
        Assert.Equal(0.01m, reply.Body.GetProperty("price").GetProperty("amount").GetDecimal());
        Assert.Equal("per-request", reply.Body.GetProperty("price").GetProperty("billingType").GetString());
        var offer = reply.Body.GetProperty("offer");
        Assert.Equal("aisa-wallet", offer.GetProperty("rail").GetString());
        Assert.Equal(10_000, offer.GetProperty("priceMicros").GetInt64());
        Assert.Equal(domain, offer.GetProperty("publisher").GetString());
        Assert.Equal("/article/7", offer.GetProperty("endpoint").GetString());
        // The single offer keeps the shape existing clients read; the list names the wallet too.
        Assert.Equal(["currency", "endpoint", "paymentUrl", "priceMicros", "publisher", "rail"], offer.EnumerateObject().Select(p => p.Name).Order());
        var only = Assert.Single(reply.Body.GetProperty("offers").EnumerateArray());
        Assert.Equal("wallet", only.GetProperty("kind").GetString());
        Assert.Equal(offer.GetProperty("paymentUrl").GetString(), only.GetProperty("paymentUrl").GetString());
        Assert.Equal(1m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task Row_9_an_exact_price_that_differs_is_price_mismatch_and_one_that_matches_is_charged()
    {
        var (agent, domain, _) = await MarketAsync();
        var body = new { publisherDomain = domain, resourceUrl = "/article/1" };

        var mismatch = await Client.VerifyAsync(body, agent.CrawlerToken, new Dictionary<string, string> { ["crawler-exact-price"] = "USD 0.02" });
        // A crawler echoes the Crawler-Price header of the 402 into crawler-exact-price.
        var echoed = await Client.VerifyAsync(body, agent.CrawlerToken, new Dictionary<string, string> { ["crawler-exact-price"] = mismatch.Header("Crawler-Price")! });
        var micros = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/2", crawlerExactPrice = "10000 micros USD" }, agent.CrawlerToken);

        AssertShape(mismatch, HttpStatusCode.PaymentRequired, "price_mismatch");
        Assert.Equal("USD 0.01", mismatch.Header("Crawler-Price"));
        AssertShape(echoed, HttpStatusCode.OK, null);
        AssertShape(micros, HttpStatusCode.OK, null);
        Assert.Equal(0.98m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task Row_10_a_price_above_the_maximum_is_price_too_high()
    {
        var (agent, domain, _) = await MarketAsync();
        var body = new { publisherDomain = domain, resourceUrl = "/article/1" };

        var tooHigh = await Client.VerifyAsync(body with { }, agent.CrawlerToken, new Dictionary<string, string> { ["crawler-max-price"] = "USD 0.009999" });
        var within = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/1", crawlerMaxPrice = "USD 0.01" }, agent.CrawlerToken);

        AssertShape(tooHigh, HttpStatusCode.PaymentRequired, "price_too_high");
        AssertShape(within, HttpStatusCode.OK, null);
        Assert.Equal(0.01m, within.Body.GetProperty("charge").GetProperty("amount").GetDecimal());
    }

    [Fact]
    public async Task Row_11_a_balance_below_the_price_is_insufficient_balance_with_the_shortfall_and_onboarding()
    {
        var (agent, domain, _) = await MarketAsync(new NewRule("/article/", "pay", 0.3m), funds: 0.25m);

        var reply = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/1", crawlerAutoPrice = true }, agent.CrawlerToken);

        AssertShape(reply, HttpStatusCode.PaymentRequired, "insufficient_balance");
        Assert.Equal(0.25m, reply.Body.GetProperty("crawler").GetProperty("currentBalance").GetDecimal());
        Assert.Equal(0.05m, reply.Body.GetProperty("crawler").GetProperty("shortfall").GetDecimal());
        Assert.Equal(0.5m, reply.Body.GetProperty("onboarding").GetProperty("minimumTopUp").GetDecimal());
        Assert.EndsWith("/agent/wallet.html", reply.Body.GetProperty("onboarding").GetProperty("walletUrl").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("/agent/signup", reply.Body.GetProperty("onboarding").GetProperty("signUpUrl").GetString(), StringComparison.Ordinal);
        Assert.Equal("60", reply.Header("Retry-After"));
        Assert.Equal("USD 0.30", reply.Header("Crawler-Price"));
        Assert.Equal(300_000, reply.Body.GetProperty("offer").GetProperty("priceMicros").GetInt64());
        Assert.Equal(0.25m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task Row_12_a_charge_moves_the_price_to_the_publisher_less_the_platform_share()
    {
        var (agent, domain, session) = await MarketAsync(new NewRule("/article/", "pay", 0.37m), funds: 5m, crawlerType: "GPTBot");

        var reply = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/1", crawlerAutoPrice = true }, agent.CrawlerToken);

        AssertShape(reply, HttpStatusCode.OK, null);
        Assert.Equal("USD 0.37", reply.Header("Crawler-Charged"));
        var charge = reply.Body.GetProperty("charge");
        Assert.Equal(0.37m, charge.GetProperty("amount").GetDecimal());
        Assert.Equal("USD", charge.GetProperty("currency").GetString());
        Assert.Equal("per-request", charge.GetProperty("billingType").GetString());
        Assert.Equal(5m, charge.GetProperty("crawlerBalanceBefore").GetDecimal());
        Assert.Equal(4.63m, charge.GetProperty("crawlerBalanceAfter").GetDecimal());
        Assert.Equal("/article/", reply.Body.GetProperty("rule").GetProperty("urlPattern").GetString());
        Assert.True(reply.Body.GetProperty("crawlerIdentification").GetProperty("recognized").GetBoolean());
        var earnings = (await Client.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(session))).Body.GetProperty("earnings");
        // Platform:RevenueShareBps defaults to 1000: 10 % of 0.37.
        Assert.Equal(0.333m, earnings.GetProperty("balance").GetDecimal());
        Assert.Equal(0.37m, earnings.GetProperty("grossCharges").GetDecimal());
        Assert.Equal(0.037m, earnings.GetProperty("platformFees").GetDecimal());
        Assert.Equal(4.63m, await Client.BalanceAsync(agent.SessionToken));
        await LedgerTotalsAsync();
    }

    [Theory]
    [InlineData("/./article/1", "/./private/1")]
    [InlineData("//article/1", "//private/1")]
    [InlineData("/%61rticle/1", "/%70rivate/1")]
    [InlineData("/news/../article/1", "/news/../private/1")]
    [InlineData("https://any.example/%2e/article//1", "https://any.example/%2e/private//1")]
    public async Task A_non_canonical_spelling_of_a_priced_or_blocked_path_is_charged_or_blocked_as_the_path_is(string resourceUrl, string blockedUrl)
    {
        var (agent, domain, session) = await MarketAsync();
        await Client.CreateRuleAsync(session, new NewRule("/private/", "block"));

        var paid = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl, crawlerAutoPrice = true }, agent.CrawlerToken);
        var blocked = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = blockedUrl, crawlerAutoPrice = true }, agent.CrawlerToken);

        AssertShape(paid, HttpStatusCode.OK, null);
        Assert.Equal("USD 0.01", paid.Header("Crawler-Charged"));
        Assert.Equal("/article/", paid.Body.GetProperty("rule").GetProperty("urlPattern").GetString());
        AssertShape(blocked, HttpStatusCode.Forbidden, "blocked");
        Assert.Equal(0.99m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Theory]
    [InlineData("/article%2F1")]
    [InlineData("/../article/1")]
    [InlineData("/article/%00")]
    [InlineData("/article\\1")]
    public async Task A_path_that_cannot_be_normalised_safely_is_refused_and_charges_nothing(string resourceUrl)
    {
        var (agent, domain, _) = await MarketAsync();

        var reply = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl, crawlerAutoPrice = true }, agent.CrawlerToken);

        AssertShape(reply, HttpStatusCode.BadRequest, "invalid_request");
        Assert.Equal(1m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task An_Idempotency_Key_reused_after_the_retention_is_a_new_charge_not_an_old_answer()
    {
        var (agent, domain, _) = await MarketAsync(funds: 1m);
        var key = new Dictionary<string, string> { ["Idempotency-Key"] = "crawl-0001" };

        var first = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/1", crawlerAutoPrice = true }, agent.CrawlerToken, key);
        var retry = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/1", crawlerAutoPrice = true }, agent.CrawlerToken, key);
        Clock.Advance(TimeSpan.FromHours(25));
        // The same key, another resource of the same publisher at the same price: a new request, which must pay.
        var later = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/2", crawlerAutoPrice = true }, agent.CrawlerToken, key);
        var laterRetry = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/2", crawlerAutoPrice = true }, agent.CrawlerToken, key);
        Clock.Advance(TimeSpan.FromHours(-25));

        AssertShape(first, HttpStatusCode.OK, null);
        Assert.Equal(first.Raw, retry.Raw);
        AssertShape(later, HttpStatusCode.OK, null);
        Assert.Equal("USD 0.01", later.Header("Crawler-Charged"));
        Assert.Equal(0.99m, later.Body.GetProperty("charge").GetProperty("crawlerBalanceBefore").GetDecimal());
        Assert.Equal(0.98m, later.Body.GetProperty("charge").GetProperty("crawlerBalanceAfter").GetDecimal());
        Assert.Equal(later.Raw, laterRetry.Raw);
        Assert.Equal(0.98m, await Client.BalanceAsync(agent.SessionToken));
        var charges = (await Client.SendAsync(HttpMethod.Get, "/api/agent/transactions", headers: AisaClient.Bearer(agent.SessionToken))).Body
            .GetProperty("transactions").EnumerateArray().Where(t => t.GetProperty("type").GetString() == "charge").Select(t => t.GetProperty("reference").GetString()).ToList();
        Assert.Equal([$"{domain}/article/2", $"{domain}/article/1"], charges);
        await LedgerTotalsAsync();
    }

    [Fact]
    public async Task A_keyed_verify_that_failed_is_retried_under_the_same_operation_and_charges_once()
    {
        var (agent, domain, _) = await MarketAsync(funds: 1m);
        var key = new Dictionary<string, string> { ["Idempotency-Key"] = "crawl-0002" };
        var body = new { publisherDomain = domain, resourceUrl = "/article/1", crawlerAutoPrice = true };
        // The charge commits, then the answer is lost: the request fails as if the database went away after the commit.
        FailAfterCharge = true;
        var failed = await Client.VerifyAsync(body, agent.CrawlerToken, key);
        FailAfterCharge = false;

        var retried = await Client.VerifyAsync(body, agent.CrawlerToken, key);

        AssertShape(failed, HttpStatusCode.InternalServerError, "internal_error");
        AssertShape(retried, HttpStatusCode.OK, null);
        Assert.Equal(0.99m, retried.Body.GetProperty("charge").GetProperty("crawlerBalanceAfter").GetDecimal());
        Assert.Equal(0.99m, await Client.BalanceAsync(agent.SessionToken));
        await LedgerTotalsAsync();
    }

    [Fact]
    public async Task Unexpected_failure_is_500_internal_error_and_charges_nothing()
    {
        var (agent, domain, _) = await MarketAsync();
        FailCharges = true;

        var reply = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/1", crawlerAutoPrice = true }, agent.CrawlerToken);

        AssertShape(reply, HttpStatusCode.InternalServerError, "internal_error");
        Assert.Equal(1m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task The_most_specific_rule_wins_then_the_crawler_type_then_the_newest()
    {
        var agent = await Client.RegisterAgentAsync("GPTBot");
        await Client.FundAsync(agent.Id, 1m);
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/", "pay", 0.01m));
        await Client.CreateRuleAsync(session, new NewRule("/news/*/full", "pay", 0.02m));
        await Client.CreateRuleAsync(session, new NewRule("/news/", "pay", 0.03m));
        await Client.CreateRuleAsync(session, new NewRule("/docs/", "pay", 0.04m, CrawlerType: "GPTBot"));
        await Client.CreateRuleAsync(session, new NewRule("/docs/", "pay", 0.05m));
        await Client.CreateRuleAsync(session, new NewRule("/blog/", "pay", 0.06m));
        await Client.CreateRuleAsync(session, new NewRule("/blog/", "pay", 0.07m));
        async Task<decimal> PriceOf(string url) =>
            (await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = url }, agent.CrawlerToken)).Body.GetProperty("price").GetProperty("amount").GetDecimal();

        Assert.Equal(0.02m, await PriceOf("/news/2026/11/full/text"));
        Assert.Equal(0.03m, await PriceOf("/news/2026/11"));
        Assert.Equal(0.01m, await PriceOf("/other"));
        Assert.Equal(0.04m, await PriceOf("/docs/a"));
        Assert.Equal(0.07m, await PriceOf("/blog/a"));
    }

    [Fact]
    public async Task A_crawler_without_a_registered_type_is_identified_by_its_user_agent_or_declared_agent()
    {
        var (agent, domain, _) = await MarketAsync();
        var body = new { publisherDomain = domain, resourceUrl = "/about" };

        var byUserAgent = await Client.VerifyAsync(body, agent.CrawlerToken, new Dictionary<string, string> { ["User-Agent"] = "Mozilla/5.0 (compatible; ClaudeBot/1.0)" });
        var declared = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/about", crawlerAgent = "PerplexityBot/2" }, agent.CrawlerToken);
        var unknown = await Client.VerifyAsync(body, agent.CrawlerToken, new Dictionary<string, string> { ["User-Agent"] = "curl/8" });

        Assert.Equal("ClaudeBot", byUserAgent.Body.GetProperty("crawlerIdentification").GetProperty("identifier").GetString());
        Assert.Equal("PerplexityBot", declared.Body.GetProperty("crawlerIdentification").GetProperty("identifier").GetString());
        Assert.False(unknown.Body.GetProperty("crawlerIdentification").GetProperty("recognized").GetBoolean());
    }

    private bool FailCharges { get; set; }

    private bool FailAfterCharge { get; set; }

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<ILedger>(sp => new FailingLedger(
            ActivatorUtilities.CreateInstance<Storage.Ledger.SqlLedger>(sp), () => FailCharges, () => FailAfterCharge));
    }

    /// <summary>Loses the database in the middle of a charge (before it, or after its commit), as a real outage would.</summary>
    private sealed class FailingLedger(ILedger inner, Func<bool> fail, Func<bool> failAfter) : ILedger
    {
        public Task<Account> OpenAccountAsync(string code, AccountKind kind, CancellationToken cancellationToken) => inner.OpenAccountAsync(code, kind, cancellationToken);
        public Task<Account?> FindAccountAsync(string code, CancellationToken cancellationToken) => inner.FindAccountAsync(code, cancellationToken);
        public Task<PostResult> PostAsync(IReadOnlyList<TransferRequest> transfers, CancellationToken cancellationToken) => PostAsync(transfers, null, cancellationToken);
        public async Task<PostResult> PostAsync(IReadOnlyList<TransferRequest> transfers, SpendingCaps? caps, CancellationToken cancellationToken)
        {
            if (transfers[0].Kind != TransferKinds.Charge)
            {
                return await inner.PostAsync(transfers, caps, cancellationToken);
            }
            if (fail())
            {
                throw new StorageUnavailableException("The database went away.");
            }
            var result = await inner.PostAsync(transfers, caps, cancellationToken);
            return failAfter() ? throw new StorageUnavailableException("The database went away after the commit.") : result;
        }
        public Task<Money.Micros> GetBalanceAsync(AccountId account, CancellationToken cancellationToken) => inner.GetBalanceAsync(account, cancellationToken);
        public Task<SpendingTotals> GetSpendingAsync(AccountId account, DateTimeOffset at, CancellationToken cancellationToken) => inner.GetSpendingAsync(account, at, cancellationToken);
        public Task<Transfer?> FindTransferAsync(string idempotencyKey, CancellationToken cancellationToken) => inner.FindTransferAsync(idempotencyKey, cancellationToken);
        public Task<IReadOnlyList<Transfer>> ListTransfersAsync(AccountId account, int limit, long? beforeId, CancellationToken cancellationToken) => inner.ListTransfersAsync(account, limit, beforeId, cancellationToken);
        public Task<Money.Micros> SumAsync(AccountId account, string kind, EntrySide side, CancellationToken cancellationToken) => inner.SumAsync(account, kind, side, cancellationToken);
        public Task<LedgerAudit> AuditAsync(CancellationToken cancellationToken) => inner.AuditAsync(cancellationToken);
    }
}

public sealed class SqliteVerifyDecisionTableTests() : VerifyDecisionTableTests(StorageOptions.Sqlite);

public sealed class PostgresVerifyDecisionTableTests() : VerifyDecisionTableTests(StorageOptions.Postgres);
