using System.Net;
using Aisa.Settlement.Storage;

namespace Aisa.Settlement.Api.Tests.Operator;

public abstract class OperatorApiTests(string provider) : ServiceTests(provider)
{
    [Fact]
    public async Task The_operator_API_refuses_a_missing_or_wrong_key()
    {
        var agent = await Client.RegisterAgentAsync();

        var none = await Client.PostAsync($"/api/operator/crawlers/{agent.Id}/adjustments", new { amount = 5m, reason = "gift" });
        var wrong = await Client.PostAsync($"/api/operator/crawlers/{agent.Id}/adjustments", new { amount = 5m, reason = "gift" },
            new Dictionary<string, string> { ["X-AISA-Operator-Key"] = SettlementFactory.OperatorKey + "x" });
        var audit = await Client.SendAsync(HttpMethod.Get, "/api/operator/ledger/audit");

        Assert.All(new[] { none, wrong, audit }, r => Assert.Equal(HttpStatusCode.Unauthorized, r.Status));
        Assert.Equal(0m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task An_adjustment_with_an_Idempotency_Key_credits_once_and_is_audited()
    {
        var agent = await Client.RegisterAgentAsync();
        var headers = new Dictionary<string, string>(AisaClient.Operator()) { ["Idempotency-Key"] = "ticket-4711" };

        var first = await Client.PostAsync($"/api/operator/crawlers/{agent.Id}/adjustments", new { amount = 2.5m, reason = "ticket 4711: goodwill" }, headers);
        var retry = await Client.PostAsync($"/api/operator/crawlers/{agent.Id}/adjustments", new { amount = 2.5m, reason = "ticket 4711: goodwill" }, headers);
        var debit = await Client.PostAsync($"/api/operator/crawlers/{agent.Id}/adjustments", new { amount = -1m, reason = "correction" }, AisaClient.Operator());
        var overdraw = await Client.PostAsync($"/api/operator/crawlers/{agent.Id}/adjustments", new { amount = -1.500001m, reason = "too much" }, AisaClient.Operator());

        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal(first.Raw, retry.Raw);
        Assert.Equal(1.5m, debit.Body.GetProperty("balance").GetDecimal());
        Assert.Equal(HttpStatusCode.Conflict, overdraw.Status);
        Assert.Equal("insufficient_balance", overdraw.Error);
        Assert.Equal(1.5m, await Client.BalanceAsync(agent.SessionToken));
        var transactions = (await Client.SendAsync(HttpMethod.Get, "/api/agent/transactions", headers: AisaClient.Bearer(agent.SessionToken))).Body.GetProperty("transactions");
        Assert.Equal(["correction", "ticket 4711: goodwill"], transactions.EnumerateArray().Select(t => t.GetProperty("reference").GetString()));
        var audit = await Client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean());
        Assert.Equal(2, audit.GetProperty("transfers").GetInt64());
    }

    [Fact]
    public async Task An_Idempotency_Key_reused_after_the_retention_is_a_new_adjustment()
    {
        var agent = await Client.RegisterAgentAsync();
        var headers = new Dictionary<string, string>(AisaClient.Operator()) { ["Idempotency-Key"] = "ticket-1" };

        var first = await Client.PostAsync($"/api/operator/crawlers/{agent.Id}/adjustments", new { amount = 2m, reason = "ticket 1: goodwill" }, headers);
        Clock.Advance(TimeSpan.FromHours(25));
        var later = await Client.PostAsync($"/api/operator/crawlers/{agent.Id}/adjustments", new { amount = 2m, reason = "ticket 1: goodwill" }, headers);
        Clock.Advance(TimeSpan.FromHours(-25));

        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal(HttpStatusCode.Created, later.Status);
        Assert.Equal(4m, later.Body.GetProperty("balance").GetDecimal());
        Assert.NotEqual(first.Body.GetProperty("adjustment").GetProperty("id").GetInt64(), later.Body.GetProperty("adjustment").GetProperty("id").GetInt64());
        Assert.Equal(4m, await Client.BalanceAsync(agent.SessionToken));
        var audit = await Client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean());
        Assert.Equal(2, audit.GetProperty("transfers").GetInt64());
    }

    [Theory]
    [InlineData("""{"amount":0,"reason":"nothing"}""", 400, "invalid_amount")]
    [InlineData("""{"amount":1000000,"reason":"a lot"}""", 400, "invalid_amount")]
    [InlineData("""{"amount":0.0000001,"reason":"dust"}""", 400, "invalid_request")]
    [InlineData("""{"amount":1}""", 400, "invalid_reason")]
    [InlineData("""{"amount":"1","reason":"text"}""", 400, "invalid_request")]
    [InlineData("""{"amount":1,"reason":"x","extra":true}""", 400, "invalid_request")]
    public async Task A_bad_adjustment_is_refused_and_moves_nothing(string json, int status, string error)
    {
        var agent = await Client.RegisterAgentAsync();

        var reply = await Client.SendAsync(HttpMethod.Post, $"/api/operator/crawlers/{agent.Id}/adjustments", json, AisaClient.Operator());

        Assert.Equal(status, reply.Code);
        Assert.Equal(error, reply.Error);
        Assert.Equal(0, (await LedgerTotalsAsync()).Transfers);
    }

    [Fact]
    public async Task An_adjustment_for_an_unknown_crawler_is_404()
    {
        var reply = await Client.PostAsync("/api/operator/crawlers/999999/adjustments", new { amount = 1m, reason = "x" }, AisaClient.Operator());
        var notANumber = await Client.PostAsync("/api/operator/crawlers/abc/adjustments", new { amount = 1m, reason = "x" }, AisaClient.Operator());

        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal(HttpStatusCode.NotFound, notANumber.Status);
    }
}

public sealed class SqliteOperatorApiTests() : OperatorApiTests(StorageOptions.Sqlite);

public sealed class PostgresOperatorApiTests() : OperatorApiTests(StorageOptions.Postgres);
