using System.Net;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Verify;

public abstract class VerifyConcurrencyTests(string provider) : ServiceTests(provider)
{
    [Fact]
    public async Task Five_hundred_concurrent_auto_pay_verifies_grant_exactly_what_the_wallet_affords()
    {
        const decimal price = 0.013m;
        var agent = await Client.RegisterAgentAsync();
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/", "pay", price));
        await Client.FundAsync(agent.Id, 137 * price);

        using var start = new ManualResetEventSlim();
        var verifies = Enumerable.Range(0, 500).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = $"/page/{i}", crawlerAutoPrice = true }, agent.CrawlerToken);
        })).ToArray();
        start.Set();
        var replies = await Task.WhenAll(verifies);

        var undecided = replies.Where(r => r.Status != HttpStatusCode.OK && r.Error != "insufficient_balance").Select(r => $"{(int)r.Status} {r.Raw}").ToList();
        Assert.True(undecided.Count == 0, $"{undecided.Count} verifies were neither granted nor refused for the balance: {string.Join(" | ", undecided.Distinct().Take(5))}");
        Assert.Equal(137, replies.Count(r => r.Status == HttpStatusCode.OK));
        Assert.Equal(363, replies.Count(r => r.Error == "insufficient_balance"));
        Assert.Equal(0m, await Client.BalanceAsync(agent.SessionToken));
        // Every grant saw its own balance: 137 distinct balances after, from the top down to zero.
        var after = replies.Where(r => r.Status == HttpStatusCode.OK).Select(r => r.Body.GetProperty("charge").GetProperty("crawlerBalanceAfter").GetDecimal()).Order();
        Assert.Equal(Enumerable.Range(0, 137).Select(k => k * price), after);
        var earnings = (await Client.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(session))).Body.GetProperty("earnings");
        var audit = await Client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
        var platform = audit.GetProperty("accounts").EnumerateArray().Single(a => a.GetProperty("code").GetString() == "platform:revenue").GetProperty("derivedBalance").GetDecimal();
        Assert.Equal(137 * price, earnings.GetProperty("balance").GetDecimal() + platform);
    }

    [Fact]
    public async Task The_same_Idempotency_Key_sent_twenty_times_at_once_charges_once_and_answers_the_same_bytes()
    {
        var agent = await Client.RegisterAgentAsync();
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/", "pay", 0.05m));
        await Client.FundAsync(agent.Id, 1m);
        var headers = new Dictionary<string, string> { ["Idempotency-Key"] = "crawl-2026-11-22-0001" };
        var body = new { publisherDomain = domain, resourceUrl = "/article/42", crawlerAutoPrice = true };

        using var start = new ManualResetEventSlim();
        var verifies = Enumerable.Range(0, 20).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return await Client.VerifyAsync(body, agent.CrawlerToken, headers);
        })).ToArray();
        start.Set();
        var replies = await Task.WhenAll(verifies);
        var later = await Client.VerifyAsync(body, agent.CrawlerToken, headers);

        Assert.All(replies.Append(later), r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Single(replies.Append(later).Select(r => r.Raw).Distinct());
        Assert.All(replies.Append(later), r => Assert.Equal("USD 0.05", r.Header("Crawler-Charged")));
        Assert.Equal(0.95m, await Client.BalanceAsync(agent.SessionToken));
        var transactions = (await Client.SendAsync(HttpMethod.Get, "/api/agent/transactions", headers: AisaClient.Bearer(agent.SessionToken))).Body.GetProperty("transactions");
        Assert.Single(transactions.EnumerateArray(), t => t.GetProperty("type").GetString() == "charge");
    }

    [Fact]
    public async Task The_same_Idempotency_Key_for_a_different_request_is_refused_with_422()
    {
        var agent = await Client.RegisterAgentAsync();
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/", "pay", 0.05m));
        await Client.FundAsync(agent.Id, 1m);
        var headers = new Dictionary<string, string> { ["Idempotency-Key"] = "k-1" };

        var first = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/a", crawlerAutoPrice = true }, agent.CrawlerToken, headers);
        var reused = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/b", crawlerAutoPrice = true }, agent.CrawlerToken, headers);
        var otherCrawler = await Client.RegisterAgentAsync();
        await Client.FundAsync(otherCrawler.Id, 1m);
        var sameKeyOtherCaller = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/b", crawlerAutoPrice = true }, otherCrawler.CrawlerToken, headers);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.Status);
        Assert.Equal("idempotency_key_reused", reused.Error);
        Assert.Equal(422, reused.Body.GetProperty("statusCode").GetInt32());
        Assert.Equal(HttpStatusCode.OK, sameKeyOtherCaller.Status);
        Assert.Equal(0.95m, await Client.BalanceAsync(agent.SessionToken));
    }
}

public sealed class SqliteVerifyConcurrencyTests() : VerifyConcurrencyTests(StorageOptions.Sqlite);

public sealed class PostgresVerifyConcurrencyTests() : VerifyConcurrencyTests(StorageOptions.Postgres);
