using System.Net;
using Aisa.Settlement.Storage;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>The sandbox rail, as a newcomer uses it on the embedded default in Development: a top-up credits at once, through the deposit state machine.</summary>
public sealed class SandboxTopUpTests : IAsyncLifetime
{
    private TestStore _store = null!;
    private SettlementFactory _factory = null!;
    private AisaClient _client = null!;

    public async Task InitializeAsync()
    {
        _store = await TestStore.CreateAsync(StorageOptions.Sqlite);
        _factory = new SettlementFactory(_store, new Dictionary<string, string> { ["Rails:Sandbox:Enabled"] = "true" }, environment: "Development");
        _client = new AisaClient(_factory.CreateClient());
    }

    public async Task DisposeAsync()
    {
        _client.Http.Dispose();
        await _factory.DisposeAsync();
        await _store.DisposeAsync();
    }

    [Fact]
    public async Task A_sandbox_top_up_credits_at_once_and_pays_for_a_verify_as_any_top_up_does()
    {
        var agent = await _client.RegisterAgentAsync();
        var (domain, session) = await _client.RegisterPublisherAsync();
        await _client.CreateRuleAsync(session, new { urlPattern = "/", accessMode = "pay", price = 0.25m });

        var topUp = await _client.PostAsync("/api/agent/topup/create-session", new { amount = 5.00m, rail = "sandbox" }, AisaClient.Bearer(agent.SessionToken));
        var balance = await _client.BalanceAsync(agent.SessionToken);
        var charged = await _client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/a", crawlerAutoPrice = true }, agent.CrawlerToken);
        var deposits = await _client.SendAsync(HttpMethod.Get, "/api/agent/deposits", headers: AisaClient.Bearer(agent.SessionToken));
        var tooSmall = await _client.PostAsync("/api/agent/topup/create-session", new { amount = 0.01m, rail = "sandbox" }, AisaClient.Bearer(agent.SessionToken));

        Assert.True(topUp.Code == 201, topUp.Raw);
        Assert.Equal("credited", topUp.Body.GetProperty("state").GetString());
        Assert.Equal(5.00m, balance);
        Assert.Equal(HttpStatusCode.OK, charged.Status);
        Assert.Equal(4.75m, charged.Body.GetProperty("charge").GetProperty("crawlerBalanceAfter").GetDecimal());
        var deposit = Assert.Single(deposits.Body.GetProperty("deposits").EnumerateArray());
        Assert.Equal("sandbox", deposit.GetProperty("rail").GetString());
        Assert.Equal("credited", deposit.GetProperty("state").GetString());
        Assert.Equal(400, tooSmall.Code);
        var audit = await _client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }
}
