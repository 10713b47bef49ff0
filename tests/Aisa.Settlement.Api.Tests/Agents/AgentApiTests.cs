using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Text.RegularExpressions;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Agents;

public abstract partial class AgentApiTests(string provider) : ServiceTests(provider)
{
    [GeneratedRegex("^aisa_crawler_[0-9a-f]{64}$")]
    private static partial Regex CrawlerTokenShape();

    [Fact]
    public async Task Register_answers_the_contract_shape_with_a_crawler_token_shown_once()
    {
        var email = AisaClient.UniqueEmail("shape");
        var reply = await Client.PostAsync("/api/agent/auth/register", new { email, password = "correct horse", name = "Crawler One", crawlerType = "GPTBot", companyName = "Acme" });

        Assert.Equal(HttpStatusCode.Created, reply.Status);
        Assert.True(reply.Body.GetProperty("success").GetBoolean());
        Assert.StartsWith("aisa_session_", reply.Body.GetProperty("token").GetString(), StringComparison.Ordinal);
        var crawler = reply.Body.GetProperty("crawler");
        Assert.Matches(CrawlerTokenShape(), crawler.GetProperty("crawlerToken").GetString());
        Assert.Equal(email, crawler.GetProperty("email").GetString());
        Assert.Equal("GPTBot", crawler.GetProperty("crawlerType").GetString());
        Assert.Equal("0.000000", crawler.GetProperty("balance").GetString());
        Assert.Equal("0.000000", crawler.GetProperty("totalSpent").GetString());
        Assert.True(Guid.TryParse(crawler.GetProperty("crawlerUuid").GetString(), out _));

        var login = await Client.PostAsync("/api/agent/auth/login", new { email, password = "correct horse" });
        Assert.Equal(HttpStatusCode.OK, login.Status);
        Assert.False(login.Body.GetProperty("crawler").TryGetProperty("crawlerToken", out _));
        var info = await Client.SendAsync(HttpMethod.Get, "/api/agent/info", headers: AisaClient.Bearer(login.Body.GetProperty("token").GetString()!));
        Assert.Equal("Crawler One", info.Body.GetProperty("crawler").GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("not-an-email", "correct horse", "invalid_email")]
    [InlineData("a@b", "correct horse", "invalid_email")]
    [InlineData("ok@example.com", "short", "invalid_password")]
    public async Task Register_refuses_a_malformed_email_or_a_short_password(string email, string password, string error)
    {
        var reply = await Client.PostAsync("/api/agent/auth/register", new { email, password });

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal(error, reply.Error);
        Assert.False(reply.Body.GetProperty("success").GetBoolean());
    }

    [Fact]
    public async Task Register_refuses_a_duplicate_email_whatever_its_case()
    {
        var email = AisaClient.UniqueEmail("dup");
        Assert.Equal(HttpStatusCode.Created, (await Client.PostAsync("/api/agent/auth/register", new { email, password = "correct horse" })).Status);

        var again = await Client.PostAsync("/api/agent/auth/register", new { email = email.ToUpperInvariant(), password = "another one" });

        Assert.Equal(HttpStatusCode.Conflict, again.Status);
        Assert.Equal("email_taken", again.Error);
    }

    [Fact]
    public async Task Login_with_a_wrong_password_or_unknown_email_is_refused_alike()
    {
        var email = AisaClient.UniqueEmail("login");
        await Client.PostAsync("/api/agent/auth/register", new { email, password = "correct horse" });

        var wrong = await Client.PostAsync("/api/agent/auth/login", new { email, password = "wrong horse" });
        var unknown = await Client.PostAsync("/api/agent/auth/login", new { email = "nobody@example.com", password = "correct horse" });

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Equal(wrong.Raw, unknown.Raw);
    }

    [Fact]
    public async Task The_agent_API_refuses_a_missing_or_unknown_session()
    {
        var none = await Client.SendAsync(HttpMethod.Get, "/api/agent/info");
        var unknown = await Client.SendAsync(HttpMethod.Get, "/api/agent/info", headers: AisaClient.Bearer("aisa_session_" + new string('a', 64)));
        var crawlerToken = await Client.SendAsync(HttpMethod.Get, "/api/agent/info", headers: AisaClient.Bearer((await Client.RegisterAgentAsync()).CrawlerToken));

        Assert.All(new[] { none, unknown, crawlerToken }, r => Assert.Equal(HttpStatusCode.Unauthorized, r.Status));
    }

    [Fact]
    public async Task A_session_expires_after_a_day()
    {
        var agent = await Client.RegisterAgentAsync();
        Clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromMinutes(1));

        var info = await Client.SendAsync(HttpMethod.Get, "/api/agent/info", headers: AisaClient.Bearer(agent.SessionToken));

        Assert.Equal(HttpStatusCode.Unauthorized, info.Status);
    }

    [Fact]
    public async Task Sessions_and_tokens_work_on_every_instance_sharing_the_database()
    {
        var agent = await Client.RegisterAgentAsync();
        await using var second = new SettlementFactory(Store);
        var other = new AisaClient(second.CreateClient());

        var info = await other.SendAsync(HttpMethod.Get, "/api/agent/info", headers: AisaClient.Bearer(agent.SessionToken));
        var rotated = await other.PostAsync("/api/agent/token/rotate", new { }, AisaClient.Bearer(agent.SessionToken));
        var (domain, _) = await Client.RegisterPublisherAsync();
        var oldOnFirst = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/" }, agent.CrawlerToken);
        var newOnFirst = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/" }, rotated.Body.GetProperty("crawlerToken").GetString());

        Assert.Equal(HttpStatusCode.OK, info.Status);
        Assert.Equal(HttpStatusCode.OK, rotated.Status);
        Assert.Equal("invalid_token", oldOnFirst.Error);
        Assert.Equal(HttpStatusCode.OK, newOnFirst.Status);
    }

    [Fact]
    public async Task Transactions_list_one_entry_per_wallet_movement_newest_first_with_a_cursor()
    {
        var agent = await Client.RegisterAgentAsync();
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/", "pay", 0.1m));
        await Client.FundAsync(agent.Id, 1m);
        for (var i = 0; i < 3; i++)
        {
            await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = $"/{i}", crawlerAutoPrice = true }, agent.CrawlerToken);
        }

        var page1 = await Client.SendAsync(HttpMethod.Get, "/api/agent/transactions?limit=2", headers: AisaClient.Bearer(agent.SessionToken));
        var cursor = page1.Body.GetProperty("nextCursor").GetString();
        var page2 = await Client.SendAsync(HttpMethod.Get, $"/api/agent/transactions?limit=2&before={cursor}", headers: AisaClient.Bearer(agent.SessionToken));
        var bad = await Client.SendAsync(HttpMethod.Get, "/api/agent/transactions?limit=abc", headers: AisaClient.Bearer(agent.SessionToken));

        var entries = page1.Body.GetProperty("transactions").EnumerateArray().Concat(page2.Body.GetProperty("transactions").EnumerateArray()).ToList();
        Assert.Equal(["charge", "charge", "charge", "adjustment"], entries.Select(e => e.GetProperty("type").GetString()));
        Assert.Equal([-0.1m, -0.1m, -0.1m, 1m], entries.Select(e => e.GetProperty("amount").GetDecimal()));
        Assert.Equal([0.7m, 0.8m, 0.9m, 1m], entries.Select(e => e.GetProperty("balanceAfter").GetDecimal()));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, page2.Body.GetProperty("nextCursor").ValueKind);
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        var info = await Client.SendAsync(HttpMethod.Get, "/api/agent/info", headers: AisaClient.Bearer(agent.SessionToken));
        Assert.Equal("0.300000", info.Body.GetProperty("crawler").GetProperty("totalSpent").GetString());
    }


    [Fact]
    public async Task Logging_out_ends_the_session_at_once_for_agents_and_publishers()
    {
        var agent = await Client.RegisterAgentAsync();
        var (_, publisher) = await Client.RegisterPublisherAsync();

        var agentOut = await Client.SendAsync(HttpMethod.Post, "/api/agent/auth/logout", headers: AisaClient.Bearer(agent.SessionToken));
        var publisherOut = await Client.SendAsync(HttpMethod.Post, "/api/publisher/auth/logout", headers: AisaClient.Bearer(publisher));
        var agentAfter = await Client.SendAsync(HttpMethod.Get, "/api/agent/info", headers: AisaClient.Bearer(agent.SessionToken));
        var publisherAfter = await Client.SendAsync(HttpMethod.Get, "/api/publisher/rules", headers: AisaClient.Bearer(publisher));
        var again = await Client.SendAsync(HttpMethod.Post, "/api/agent/auth/logout", headers: AisaClient.Bearer(agent.SessionToken));
        // A publisher's session does not end an agent's, and the other way round.
        var crossed = await Client.SendAsync(HttpMethod.Post, "/api/agent/auth/logout", headers: AisaClient.Bearer((await Client.RegisterPublisherAsync()).SessionToken));

        Assert.Equal(HttpStatusCode.NoContent, agentOut.Status);
        Assert.Equal(HttpStatusCode.NoContent, publisherOut.Status);
        Assert.Equal((HttpStatusCode.Unauthorized, "unauthorized"), (agentAfter.Status, agentAfter.Error));
        Assert.Equal(HttpStatusCode.Unauthorized, publisherAfter.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, again.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, crossed.Status);
    }

    [Fact]
    public async Task Expired_sessions_and_idempotency_records_past_their_retention_are_pruned()
    {
        var agent = await Client.RegisterAgentAsync();
        var (domain, _) = await Client.RegisterPublisherAsync();
        await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/a" }, agent.CrawlerToken, new Dictionary<string, string> { ["Idempotency-Key"] = "k-1" });
        Clock.Advance(TimeSpan.FromHours(25));
        var fresh = await Client.RegisterAgentAsync();

        var summary = await Factory.Services.GetRequiredService<Aisa.Settlement.Api.Jobs.PruneJob>().PassAsync(CancellationToken.None);

        Assert.True(summary["sessionsDeleted"]!.GetValue<int>() >= 2, summary.ToJsonString());
        Assert.Equal(1, summary["idempotencyKeysDeleted"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, (await Client.SendAsync(HttpMethod.Get, "/api/agent/info", headers: AisaClient.Bearer(fresh.SessionToken))).Status);
        await using var connection = await Factory.Services.GetRequiredService<Storage.SqlDatabase>().OpenAsync(CancellationToken.None);
        await using var count = connection.CreateCommand(null, "SELECT COUNT(*) FROM sessions");
        Assert.Equal(1L, Convert.ToInt64(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
    }
}

public sealed class SqliteAgentApiTests() : AgentApiTests(StorageOptions.Sqlite);

public sealed class PostgresAgentApiTests() : AgentApiTests(StorageOptions.Postgres);

public sealed class RateLimitTests() : ServiceTests(StorageOptions.Sqlite)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["RateLimits:AuthPerMinute"] = "3" };

    [Fact]
    public async Task Registration_and_login_are_rate_limited_per_address_with_Retry_After()
    {
        var replies = new List<Reply>();
        for (var i = 0; i < 4; i++)
        {
            replies.Add(await Client.PostAsync("/api/agent/auth/login", new { email = "x@example.com", password = "whatever1" }));
        }

        Assert.All(replies.Take(3), r => Assert.Equal(HttpStatusCode.Unauthorized, r.Status));
        Assert.Equal(HttpStatusCode.TooManyRequests, replies[3].Status);
        Assert.Equal("rate_limited", replies[3].Error);
        Assert.True(int.Parse(replies[3].Header("Retry-After")!, System.Globalization.CultureInfo.InvariantCulture) > 0);
    }
}
