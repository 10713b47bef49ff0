using System.Globalization;
using System.Net;
using System.Text.Json;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Guard;

/// <summary>The spending guard through real HTTP against the running service: every rule and code, on both stores.</summary>
public abstract class GuardTests(string provider) : ServiceTests(provider)
{
    private sealed record Market(Registered Agent, string Domain, string PublisherSession);

    private async Task<Market> MarketAsync(decimal price = 0.01m, decimal funds = 10m)
    {
        var agent = await Client.RegisterAgentAsync();
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/", "pay", price));
        await Client.FundAsync(agent.Id, funds);
        return new Market(agent, domain, session);
    }

    private async Task<Reply> GuardAsync(Registered agent, object policy)
    {
        var reply = await Client.SendAsync(HttpMethod.Put, "/api/agent/guard", JsonSerializer.Serialize(policy), AisaClient.Bearer(agent.SessionToken));
        Assert.True(reply.Code == 200, reply.Raw);
        return reply;
    }

    private Task<Reply> VerifyAsync(Market market, string path = "/a", string? domain = null) =>
        Client.VerifyAsync(new { publisherDomain = domain ?? market.Domain, resourceUrl = path, crawlerAutoPrice = true }, market.Agent.CrawlerToken);

    private async Task<int> ChargesAsync(Registered agent)
    {
        var transactions = (await Client.SendAsync(HttpMethod.Get, "/api/agent/transactions?limit=200", headers: AisaClient.Bearer(agent.SessionToken))).Body.GetProperty("transactions");
        return transactions.EnumerateArray().Count(t => t.GetProperty("type").GetString() == "charge");
    }

    private static void AssertRefused(Reply reply, HttpStatusCode status, string error)
    {
        Assert.True(reply.Status == status && reply.Error == error, $"{reply.Code} {reply.Raw}");
        Assert.False(reply.Body.GetProperty("accessGranted").GetBoolean());
        Assert.Equal((int)status, reply.Body.GetProperty("statusCode").GetInt32());
        Assert.Null(reply.Header("Crawler-Charged"));
    }

    [Fact]
    public async Task An_empty_policy_changes_nothing_and_reads_back_empty_with_the_spending()
    {
        var market = await MarketAsync();
        var before = await Client.SendAsync(HttpMethod.Get, "/api/agent/guard", headers: AisaClient.Bearer(market.Agent.SessionToken));
        await GuardAsync(market.Agent, new { });
        var charged = await VerifyAsync(market);
        var after = await Client.SendAsync(HttpMethod.Get, "/api/agent/guard", headers: AisaClient.Bearer(market.Agent.SessionToken));

        Assert.Equal(200, before.Code);
        Assert.Equal("{}", before.Body.GetProperty("guard").GetRawText().Replace("\"requireSignedRequests\":false", "", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, charged.Status);
        Assert.Equal(0.01m, after.Body.GetProperty("spending").GetProperty("day").GetProperty("spent").GetDecimal());
        Assert.Equal(0.01m, after.Body.GetProperty("spending").GetProperty("month").GetProperty("spent").GetDecimal());
        Assert.False(after.Body.GetProperty("spending").GetProperty("day").TryGetProperty("limit", out _));
    }

    [Fact]
    public async Task A_denied_or_unlisted_publisher_is_refused_with_403_and_a_listed_parent_domain_covers_its_subdomains()
    {
        var market = await MarketAsync();
        var parent = market.Domain[(market.Domain.IndexOf('.', StringComparison.Ordinal) + 1)..];

        await GuardAsync(market.Agent, new { publisherDenylist = new[] { market.Domain.ToUpperInvariant() } });
        var denied = await VerifyAsync(market);
        await GuardAsync(market.Agent, new { publisherAllowlist = new[] { "other.example.org" } });
        var unlisted = await VerifyAsync(market);
        await GuardAsync(market.Agent, new { publisherAllowlist = new[] { parent } });
        var allowed = await VerifyAsync(market);
        await GuardAsync(market.Agent, new { publisherAllowlist = new[] { parent }, publisherDenylist = new[] { market.Domain } });
        var denyWins = await VerifyAsync(market);

        AssertRefused(denied, HttpStatusCode.Forbidden, "publisher_not_allowed");
        AssertRefused(unlisted, HttpStatusCode.Forbidden, "publisher_not_allowed");
        Assert.Equal(HttpStatusCode.OK, allowed.Status);
        AssertRefused(denyWins, HttpStatusCode.Forbidden, "publisher_not_allowed");
        Assert.Equal(1, await ChargesAsync(market.Agent));
    }

    [Fact]
    public async Task More_paid_requests_a_minute_than_allowed_get_429_with_Retry_After_until_the_minute_has_passed()
    {
        var market = await MarketAsync();
        await GuardAsync(market.Agent, new { requestsPerMinute = 3 });

        var admitted = new List<Reply>();
        for (var i = 0; i < 3; i++)
        {
            admitted.Add(await VerifyAsync(market, $"/p{i}"));
        }
        var limited = await VerifyAsync(market, "/p3");
        Clock.Advance(TimeSpan.FromSeconds(61));
        var later = await VerifyAsync(market, "/p4");

        Assert.All(admitted, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        AssertRefused(limited, HttpStatusCode.TooManyRequests, "rate_limited");
        var retryAfter = int.Parse(limited.Header("Retry-After")!, CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 60);
        Assert.Equal(HttpStatusCode.OK, later.Status);
        Assert.Equal(4, await ChargesAsync(market.Agent));
    }

    [Fact]
    public async Task A_price_above_maxPricePerRequest_is_refused_as_price_too_high_whatever_the_crawler_offers()
    {
        var market = await MarketAsync(price: 0.25m);
        await GuardAsync(market.Agent, new { maxPricePerRequest = 0.20 });

        var auto = await VerifyAsync(market);
        var max = await Client.VerifyAsync(new { publisherDomain = market.Domain, resourceUrl = "/a", crawlerMaxPrice = "USD 1.00" }, market.Agent.CrawlerToken);
        await GuardAsync(market.Agent, new { maxPricePerRequest = 0.25 });
        var atTheCap = await VerifyAsync(market);

        AssertRefused(auto, HttpStatusCode.PaymentRequired, "price_too_high");
        AssertRefused(max, HttpStatusCode.PaymentRequired, "price_too_high");
        Assert.Equal("USD 0.25", auto.Header("Crawler-Price"));
        Assert.Equal(HttpStatusCode.OK, atTheCap.Status);
    }

    [Fact]
    public async Task A_daily_budget_refuses_the_charge_that_would_pass_it_says_what_remains_and_renews_the_next_UTC_day()
    {
        var market = await MarketAsync(price: 0.01m);
        // Spending before the budget was set counts: the ledger counts every charge.
        Assert.Equal(HttpStatusCode.OK, (await VerifyAsync(market, "/before")).Status);
        await GuardAsync(market.Agent, new { dailyBudget = 0.035 });

        var granted = new List<Reply>();
        for (var i = 0; i < 2; i++)
        {
            granted.Add(await VerifyAsync(market, $"/p{i}"));
        }
        var refused = await VerifyAsync(market, "/p2");
        var now = Clock.GetUtcNow().UtcDateTime;
        Clock.Advance(now.Date.AddDays(1) - now + TimeSpan.FromMinutes(1));
        var nextDay = await VerifyAsync(market, "/p3");

        Assert.All(granted, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        AssertRefused(refused, HttpStatusCode.PaymentRequired, "budget_exceeded");
        var budget = refused.Body.GetProperty("budget");
        Assert.Equal("day", budget.GetProperty("period").GetString());
        Assert.Equal(0.035m, budget.GetProperty("limit").GetDecimal());
        Assert.Equal(0.03m, budget.GetProperty("spent").GetDecimal());
        Assert.Equal(0.005m, budget.GetProperty("remaining").GetDecimal());
        Assert.Equal(new DateTimeOffset(now.Date.AddDays(1), TimeSpan.Zero), budget.GetProperty("renewsAt").GetDateTimeOffset());
        Assert.Equal(HttpStatusCode.OK, nextDay.Status);
        Assert.Equal(4, await ChargesAsync(market.Agent));
    }

    [Fact]
    public async Task A_monthly_budget_holds_across_days_and_reports_the_month()
    {
        var market = await MarketAsync(price: 0.01m);
        await GuardAsync(market.Agent, new { dailyBudget = 1, monthlyBudget = 0.02 });

        var first = await VerifyAsync(market, "/a");
        var second = await VerifyAsync(market, "/b");
        var third = await VerifyAsync(market, "/c");

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        AssertRefused(third, HttpStatusCode.PaymentRequired, "budget_exceeded");
        Assert.Equal("month", third.Body.GetProperty("budget").GetProperty("period").GetString());
        Assert.Equal(0m, third.Body.GetProperty("budget").GetProperty("remaining").GetDecimal());
        var utc = Clock.GetUtcNow().UtcDateTime;
        Assert.Equal(new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1), third.Body.GetProperty("budget").GetProperty("renewsAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task Two_hundred_concurrent_verifies_against_a_budget_for_fifty_charge_exactly_fifty()
    {
        var market = await MarketAsync(price: 0.01m, funds: 10m);
        await GuardAsync(market.Agent, new { dailyBudget = 0.50 });

        var replies = await ConcurrentVerifiesAsync(Client, market.Domain, market.Agent.CrawlerToken, 200);

        Assert.Equal(50, replies.Count(r => r.Status == HttpStatusCode.OK));
        Assert.Equal(150, replies.Count(r => r.Error == "budget_exceeded"));
        Assert.Equal(9.50m, await Client.BalanceAsync(market.Agent.SessionToken));
        Assert.Equal(50, await ChargesAsync(market.Agent));
        var audit = await Client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    internal static async Task<Reply[]> ConcurrentVerifiesAsync(AisaClient client, string domain, string crawlerToken, int count, AisaClient? other = null)
    {
        using var start = new ManualResetEventSlim();
        var verifies = Enumerable.Range(0, count).Select(i => Task.Run(async () =>
        {
            start.Wait();
            var via = other is not null && i % 2 == 1 ? other : client;
            return await via.VerifyAsync(new { publisherDomain = domain, resourceUrl = $"/page/{i}", crawlerAutoPrice = true }, crawlerToken);
        })).ToArray();
        start.Set();
        var replies = await Task.WhenAll(verifies);
        var undecided = replies.Where(r => r.Status != HttpStatusCode.OK && r.Error != "budget_exceeded").Select(r => $"{r.Code} {r.Raw}").ToList();
        Assert.True(undecided.Count == 0, string.Join(" | ", undecided.Distinct().Take(5)));
        return replies;
    }

    [Fact]
    public async Task An_approval_older_than_its_lifetime_on_the_service_clock_can_no_longer_be_approved()
    {
        var market = await MarketAsync(price: 0.10m);
        await GuardAsync(market.Agent, new { approvalAbove = 0.05 });
        var approvalId = (await VerifyAsync(market, "/report")).Body.GetProperty("approvalId").GetString()!;

        Clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromMinutes(1));
        // The session lived as long as the approval: the owner logs in again.
        var session = (await Client.Agents.LoginAsync(market.Agent.Email, "correct horse")).Required.Token;
        var late = await Client.SendAsync(HttpMethod.Post, $"/api/agent/approvals/{approvalId}/approve", headers: AisaClient.Bearer(session));

        Assert.Equal(409, late.Code);
        Assert.Equal("approval_decided", late.Error);
        Assert.Contains("expired", late.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(10m, await Client.BalanceAsync(session));
    }

    [Fact]
    public async Task A_charge_above_approvalAbove_waits_for_the_owner_and_once_approved_the_same_verify_charges_once()
    {
        var market = await MarketAsync(price: 0.10m);
        await GuardAsync(market.Agent, new { approvalAbove = 0.05 });

        var waiting = await VerifyAsync(market, "/report");
        var again = await VerifyAsync(market, "/report");
        var approvalId = waiting.Body.GetProperty("approvalId").GetString()!;
        var listed = await Client.SendAsync(HttpMethod.Get, "/api/agent/approvals?state=pending", headers: AisaClient.Bearer(market.Agent.SessionToken));
        var approved = await Client.SendAsync(HttpMethod.Post, $"/api/agent/approvals/{approvalId}/approve", headers: AisaClient.Bearer(market.Agent.SessionToken));
        var approvedAgain = await Client.SendAsync(HttpMethod.Post, $"/api/agent/approvals/{approvalId}/approve", headers: AisaClient.Bearer(market.Agent.SessionToken));
        var declineLate = await Client.SendAsync(HttpMethod.Post, $"/api/agent/approvals/{approvalId}/decline", headers: AisaClient.Bearer(market.Agent.SessionToken));
        var racing = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => VerifyAsync(market, "/report")));
        var afterUse = await VerifyAsync(market, "/report");
        var cheap = await VerifyAsync(market, "/other");

        AssertRefused(waiting, HttpStatusCode.PaymentRequired, "approval_required");
        Assert.StartsWith("apr_", approvalId, StringComparison.Ordinal);
        Assert.Equal(approvalId, again.Body.GetProperty("approvalId").GetString());
        var pending = Assert.Single(listed.Body.GetProperty("approvals").EnumerateArray());
        Assert.Equal("/report", pending.GetProperty("resource").GetString());
        Assert.Equal(0.10m, pending.GetProperty("price").GetDecimal());
        Assert.Equal(market.Domain, pending.GetProperty("publisher").GetString());
        Assert.Equal(200, approved.Code);
        Assert.Equal(200, approvedAgain.Code);
        Assert.Equal(409, declineLate.Code);
        Assert.Equal("approval_decided", declineLate.Error);
        // Racing verifies after the approval: one charge; the others answered from it or put to the owner again.
        Assert.Contains(racing, r => r.Status == HttpStatusCode.OK);
        Assert.All(racing, r => Assert.True(r.Status == HttpStatusCode.OK || r.Error == "approval_required", r.Raw));
        AssertRefused(afterUse, HttpStatusCode.PaymentRequired, "approval_required");
        Assert.NotEqual(approvalId, afterUse.Body.GetProperty("approvalId").GetString());
        Assert.Equal(HttpStatusCode.PaymentRequired, cheap.Status);
        Assert.Equal(1, await ChargesAsync(market.Agent));
        Assert.Equal(9.90m, await Client.BalanceAsync(market.Agent.SessionToken));
    }

    [Fact]
    public async Task A_declined_charge_is_refused_as_declined_and_a_charge_the_budget_cannot_take_is_not_put_to_the_owner()
    {
        var market = await MarketAsync(price: 0.10m);
        await GuardAsync(market.Agent, new { approvalAbove = 0.05, dailyBudget = 0.15 });

        var waiting = await VerifyAsync(market, "/a");
        var id = waiting.Body.GetProperty("approvalId").GetString()!;
        var declined = await Client.SendAsync(HttpMethod.Post, $"/api/agent/approvals/{id}/decline", headers: AisaClient.Bearer(market.Agent.SessionToken));
        var refused = await VerifyAsync(market, "/a");
        var otherAgent = await Client.RegisterAgentAsync();
        var foreign = await Client.SendAsync(HttpMethod.Post, $"/api/agent/approvals/{id}/approve", headers: AisaClient.Bearer(otherAgent.SessionToken));
        var second = await VerifyAsync(market, "/b");
        await Client.SendAsync(HttpMethod.Post, $"/api/agent/approvals/{second.Body.GetProperty("approvalId").GetString()}/approve", headers: AisaClient.Bearer(market.Agent.SessionToken));
        var charged = await VerifyAsync(market, "/b");
        var overBudget = await VerifyAsync(market, "/c");

        Assert.Equal(200, declined.Code);
        AssertRefused(refused, HttpStatusCode.PaymentRequired, "approval_declined");
        Assert.Equal(404, foreign.Code);
        Assert.Equal(HttpStatusCode.OK, charged.Status);
        AssertRefused(overBudget, HttpStatusCode.PaymentRequired, "budget_exceeded");
        var approvals = await Client.SendAsync(HttpMethod.Get, "/api/agent/approvals", headers: AisaClient.Bearer(market.Agent.SessionToken));
        Assert.Equal(new[] { "used", "declined" }, approvals.Body.GetProperty("approvals").EnumerateArray().Select(a => a.GetProperty("state").GetString()));
    }

    [Fact]
    public async Task The_rules_answer_in_the_contract_order()
    {
        var market = await MarketAsync(price: 0.10m);
        var all = new { publisherDenylist = new[] { market.Domain }, requestsPerMinute = 1, maxPricePerRequest = 0.05, dailyBudget = 0.01, approvalAbove = 0.01 };

        await GuardAsync(market.Agent, all);
        var first = await VerifyAsync(market);
        await GuardAsync(market.Agent, all with { publisherDenylist = Array.Empty<string>() });
        await VerifyAsync(market);
        var second = await VerifyAsync(market);
        await GuardAsync(market.Agent, all with { publisherDenylist = Array.Empty<string>(), requestsPerMinute = 1000 });
        var third = await VerifyAsync(market);
        await GuardAsync(market.Agent, all with { publisherDenylist = Array.Empty<string>(), requestsPerMinute = 1000, maxPricePerRequest = 1.0 });
        var fourth = await VerifyAsync(market);
        await GuardAsync(market.Agent, all with { publisherDenylist = Array.Empty<string>(), requestsPerMinute = 1000, maxPricePerRequest = 1.0, dailyBudget = 1.0 });
        var fifth = await VerifyAsync(market);

        Assert.Equal(new[] { "publisher_not_allowed", "rate_limited", "price_too_high", "budget_exceeded", "approval_required" },
            new[] { first, second, third, fourth, fifth }.Select(r => r.Error));
        Assert.Equal(0, await ChargesAsync(market.Agent));
    }

    [Theory]
    [InlineData("{\"dailyBudget\": -1}")]
    [InlineData("{\"dailyBudget\": 0.0000001}")]
    [InlineData("{\"dailyBudget\": \"10\"}")]
    [InlineData("{\"requestsPerMinute\": 0}")]
    [InlineData("{\"publisherAllowlist\": [\"not a domain\"]}")]
    [InlineData("{\"publisherDenylist\": [\"<script>.example\"]}")]
    [InlineData("{\"budget\": 5}")]
    [InlineData("[]")]
    public async Task A_bad_policy_is_refused_with_400_and_changes_nothing(string body)
    {
        var market = await MarketAsync();
        await GuardAsync(market.Agent, new { dailyBudget = 5 });

        var reply = await Client.SendAsync(HttpMethod.Put, "/api/agent/guard", body, AisaClient.Bearer(market.Agent.SessionToken));
        var after = await Client.SendAsync(HttpMethod.Get, "/api/agent/guard", headers: AisaClient.Bearer(market.Agent.SessionToken));

        Assert.Equal(400, reply.Code);
        Assert.Contains(reply.Error, new[] { "invalid_guard", "invalid_request" });
        Assert.Equal(5m, after.Body.GetProperty("guard").GetProperty("dailyBudget").GetDecimal());
    }

    [Fact]
    public async Task An_operator_reads_and_replaces_a_crawlers_policy_and_a_session_is_needed_for_the_agents_own()
    {
        var market = await MarketAsync();

        var set = await Client.SendAsync(HttpMethod.Put, $"/api/operator/crawlers/{market.Agent.Id}/guard", "{\"maxPricePerRequest\": 0.001, \"publisherAllowlist\": [\"A.Example.com\"]}", AisaClient.Operator());
        var read = await Client.SendAsync(HttpMethod.Get, $"/api/operator/crawlers/{market.Agent.Id}/guard", headers: AisaClient.Operator());
        var refused = await VerifyAsync(market);
        var noKey = await Client.SendAsync(HttpMethod.Get, $"/api/operator/crawlers/{market.Agent.Id}/guard");
        var unknown = await Client.SendAsync(HttpMethod.Get, "/api/operator/crawlers/999999/guard", headers: AisaClient.Operator());
        var noSession = await Client.SendAsync(HttpMethod.Get, "/api/agent/guard");

        Assert.Equal(200, set.Code);
        Assert.Equal(0.001m, read.Body.GetProperty("guard").GetProperty("maxPricePerRequest").GetDecimal());
        Assert.Equal("a.example.com", read.Body.GetProperty("guard").GetProperty("publisherAllowlist")[0].GetString());
        AssertRefused(refused, HttpStatusCode.Forbidden, "publisher_not_allowed");
        Assert.Equal(401, noKey.Code);
        Assert.Equal(404, unknown.Code);
        Assert.Equal(401, noSession.Code);
    }

    [Fact]
    public async Task An_operator_sets_a_policy_on_the_crawlers_dashboard_page_and_a_form_without_its_antiforgery_token_changes_nothing()
    {
        var market = await MarketAsync(price: 0.10m);
        var console = await Dashboard.OperatorLogin.LoggedInAsync(Factory);
        var found = await console.GetAsync(new Uri($"/dashboard/crawlers?find={Uri.EscapeDataString(market.Agent.Id.ToString(CultureInfo.InvariantCulture))}", UriKind.Relative));
        var page = $"/dashboard/crawlers/{market.Agent.Id}";
        var csrf = await Dashboard.OperatorLogin.CsrfAsync(console, page);

        var forged = await Dashboard.OperatorLogin.PostFormAsync(console, page + "/guard", null, ("maxPricePerRequest", "0.01"));
        var unchanged = await VerifyAsync(market, "/a");
        var bad = await Dashboard.OperatorLogin.PostFormAsync(console, page + "/guard", csrf, ("dailyBudget", "lots"));
        var saved = await Dashboard.OperatorLogin.PostFormAsync(console, page + "/guard", csrf,
            ("maxPricePerRequest", "0.05"), ("publisherDenylist", "spam.example.net\nother.example.org"), ("requestsPerMinute", "100"));
        var refused = await VerifyAsync(market, "/b");
        var html = await console.GetStringAsync(new Uri(page, UriKind.Relative));
        var api = await Client.SendAsync(HttpMethod.Get, "/api/agent/guard", headers: AisaClient.Bearer(market.Agent.SessionToken));

        Assert.Equal(HttpStatusCode.Redirect, found.StatusCode);
        Assert.Equal(page, found.Headers.Location!.ToString());
        Assert.NotEqual(HttpStatusCode.Redirect, forged.StatusCode);
        Assert.Equal(HttpStatusCode.OK, unchanged.Status);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("Nothing was saved", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, saved.StatusCode);
        AssertRefused(refused, HttpStatusCode.PaymentRequired, "price_too_high");
        Assert.Contains("value=\"0.05\"", html, StringComparison.Ordinal);
        Assert.Contains("other.example.org", html, StringComparison.Ordinal);
        var guard = api.Body.GetProperty("guard");
        Assert.Equal(100, guard.GetProperty("requestsPerMinute").GetInt32());
        Assert.Equal(new[] { "spam.example.net", "other.example.org" }, guard.GetProperty("publisherDenylist").EnumerateArray().Select(d => d.GetString()));
        Assert.False(guard.TryGetProperty("dailyBudget", out _));
    }
}

public sealed class SqliteGuardTests() : GuardTests(StorageOptions.Sqlite);

public sealed class PostgresGuardTests() : GuardTests(StorageOptions.Postgres);

/// <summary>Two service instances on one PostgreSQL database: the budget holds across them.</summary>
public sealed class PostgresTwoInstanceBudgetTests : IAsyncLifetime
{
    private TestStore _store = null!;
    private SettlementFactory _first = null!;
    private SettlementFactory _second = null!;

    public async Task InitializeAsync()
    {
        _store = await TestStore.CreateAsync(StorageOptions.Postgres);
        _first = new SettlementFactory(_store);
        _second = new SettlementFactory(_store);
    }

    public async Task DisposeAsync()
    {
        await _first.DisposeAsync();
        await _second.DisposeAsync();
        await _store.DisposeAsync();
    }

    [Fact]
    public async Task Two_hundred_verifies_split_across_two_instances_against_a_budget_for_fifty_charge_exactly_fifty()
    {
        var first = new AisaClient(_first.CreateClient());
        var second = new AisaClient(_second.CreateClient());
        var agent = await first.RegisterAgentAsync();
        var (domain, session) = await first.RegisterPublisherAsync();
        await first.CreateRuleAsync(session, new NewRule("/", "pay", 0.01m));
        await first.FundAsync(agent.Id, 10m);
        var set = await second.SendAsync(HttpMethod.Put, "/api/agent/guard", "{\"dailyBudget\": 0.5}", AisaClient.Bearer(agent.SessionToken));
        Assert.Equal(200, set.Code);

        var replies = await GuardTests.ConcurrentVerifiesAsync(first, domain, agent.CrawlerToken, 200, second);

        Assert.Equal(50, replies.Count(r => r.Status == HttpStatusCode.OK));
        Assert.Equal(150, replies.Count(r => r.Error == "budget_exceeded"));
        Assert.Equal(9.50m, await first.BalanceAsync(agent.SessionToken));
    }
}
