using System.Net;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>The sandbox rail, as a newcomer uses it on the embedded default in Development: a top-up credits at once, through the deposit state machine.</summary>
public sealed class SandboxTopUpTests() : ServiceTests(StorageOptions.Sqlite)
{
    protected override string Environment => "Development";

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["Rails:Sandbox:Enabled"] = "true" };

    [Fact]
    public async Task A_sandbox_top_up_credits_at_once_and_pays_for_a_verify_as_any_top_up_does()
    {
        var agent = await Client.RegisterAgentAsync();
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/", "pay", 0.25m));

        var topUp = await Client.PostAsync("/api/agent/topup/create-session", new { amount = 5.00m, rail = "sandbox" }, AisaClient.Bearer(agent.SessionToken));
        var balance = await Client.BalanceAsync(agent.SessionToken);
        var charged = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/a", crawlerAutoPrice = true }, agent.CrawlerToken);
        var deposits = await Client.SendAsync(HttpMethod.Get, "/api/agent/deposits", headers: AisaClient.Bearer(agent.SessionToken));
        var tooSmall = await Client.PostAsync("/api/agent/topup/create-session", new { amount = 0.01m, rail = "sandbox" }, AisaClient.Bearer(agent.SessionToken));

        Assert.True(topUp.Code == 201, topUp.Raw);
        Assert.Equal("credited", topUp.Body.GetProperty("state").GetString());
        Assert.Equal(5.00m, balance);
        Assert.Equal(HttpStatusCode.OK, charged.Status);
        Assert.Equal(4.75m, charged.Body.GetProperty("charge").GetProperty("crawlerBalanceAfter").GetDecimal());
        var deposit = Assert.Single(deposits.Body.GetProperty("deposits").EnumerateArray());
        Assert.Equal("sandbox", deposit.GetProperty("rail").GetString());
        Assert.Equal("credited", deposit.GetProperty("state").GetString());
        Assert.Equal(400, tooSmall.Code);
        var audit = await Client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }
}
