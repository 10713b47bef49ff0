using Aisa.Settlement.Client;
using Aisa.Settlement.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Api.Tests.TypedClient;

/// <summary>
/// The typed .NET client (src/Aisa.Settlement.Client) against the running service, resolved from IHttpClientFactory as an
/// application would: the seed's flow on the sandbox rail, the contract's errors as typed results, verify's automatic
/// top-up that never tops up more than its budget, the guard's settings.
/// </summary>
public abstract class TypedClientTests(string provider) : ServiceTests(provider)
{
    protected override string Environment => "Development";

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Rails:Sandbox:Enabled"] = "true",
        ["Platform:MinTopUp"] = "0.50",
    };

    private ServiceProvider? _services;

    private (AisaAgentClient Agents, AisaPublisherClient Publishers) Clients()
    {
        _services ??= new ServiceCollection().AddAisaClients(Client.Http.BaseAddress!).BuildServiceProvider();
        return (_services.GetRequiredService<AisaAgentClient>(), _services.GetRequiredService<AisaPublisherClient>());
    }

    private static string Email(string prefix) => AisaClient.UniqueEmail(prefix);

    private const string Password = "correct horse battery staple";

    private async Task<(string Domain, string Session)> PublisherAsync(decimal price)
    {
        var (_, publishers) = Clients();
        var domain = $"typed{Guid.NewGuid():N}.example.com";
        var session = (await publishers.RegisterAsync(Email("publisher"), Password, domain, "Typed News")).Required.Token;
        _ = (await publishers.CreateRuleAsync(session, new NewRule("/article/", "pay", price))).Required;
        return (domain, session);
    }

    [Fact]
    public async Task The_seeds_flow_runs_through_the_typed_client_and_refusals_are_typed_results()
    {
        var (agents, publishers) = Clients();
        var (domain, publisherSession) = await PublisherAsync(0.25m);
        var email = Email("agent");
        var agent = (await agents.RegisterAsync(email, Password, "Typed Crawler", "TypedBot")).Required;
        var token = agent.Crawler.CrawlerToken!;

        var refused = await agents.VerifyAsync(token, domain, "/article/1", PriceIntent.Auto);
        Assert.True(refused.Succeeded);
        Assert.Equal(402, refused.Status);
        Assert.Equal("insufficient_balance", refused.Value!.Error);
        Assert.Equal(0.25m, refused.Value.Crawler!.Shortfall);
        Assert.Contains(refused.Value.Offers!, o => o.Rail == "sandbox" && o.Kind == "top-up");

        var topUp = (await agents.TopUpAsync(agent.Token, 5.00m, "sandbox")).Required;
        Assert.Equal(("sandbox", "credited", 5.00m), (topUp.Rail, topUp.State, topUp.Amount));
        var granted = await agents.VerifyAsync(token, domain, "/article/1", PriceIntent.Auto);
        Assert.True(granted.Value!.AccessGranted, granted.Value.Message);
        Assert.Equal((0.25m, 5.00m, 4.75m), (granted.Value.Charge!.Amount, granted.Value.Charge.CrawlerBalanceBefore, granted.Value.Charge.CrawlerBalanceAfter));
        Assert.Equal(4.75m, (await agents.BalanceAsync(agent.Token)).Required);
        Assert.Equal(0.25m, (await publishers.EarningsAsync(publisherSession)).Required.GrossCharges);
        Assert.Single((await agents.DepositsAsync(agent.Token)).Required, d => d.Rail == "sandbox" && d.State == "credited");

        // The price intents: exactly another price, or at most less, is refused and charges nothing.
        Assert.Equal("price_mismatch", (await agents.VerifyAsync(token, domain, "/article/2", PriceIntent.Exactly(0.20m))).Value!.Error);
        Assert.Equal("price_too_high", (await agents.VerifyAsync(token, domain, "/article/2", PriceIntent.AtMost(0.10m))).Value!.Error);
        Assert.True((await agents.VerifyAsync(token, domain, "/article/2", PriceIntent.AtMost(0.25m))).Value!.AccessGranted);

        // The contract's errors, typed: code, status and message; Required throws them.
        var taken = await agents.RegisterAsync(email, Password);
        Assert.Equal((409, "email_taken"), (taken.Status, taken.Error!.Code));
        var wrong = await agents.LoginAsync(email, "not the password at all");
        Assert.Equal((401, "invalid_credentials"), (wrong.Status, wrong.Error!.Code));
        Assert.Equal("invalid_credentials", Assert.Throws<AisaException>(() => wrong.Required).Error.Code);
        var noRail = await agents.TopUpAsync(agent.Token, 5.00m, "nowhere");
        Assert.Equal((400, "rail_not_enabled"), (noRail.Status, noRail.Error!.Code));
        var noPayoutRail = await publishers.SetPayoutSettingsAsync(publisherSession, new PayoutSettings("sandbox", "anywhere", 1m));
        Assert.Equal(400, noPayoutRail.Status);
        Assert.Equal("invalid_rail", noPayoutRail.Error!.Code);

        // A rotated token: the old one is refused, the new one verifies.
        var rotated = (await agents.RotateTokenAsync(agent.Token)).Required;
        Assert.Equal("invalid_token", (await agents.VerifyAsync(token, domain, "/article/3", PriceIntent.Auto)).Value!.Error);
        Assert.True((await agents.VerifyAsync(rotated, domain, "/article/3", PriceIntent.Auto)).Value!.AccessGranted);

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => agents.InfoAsync(agent.Token, cancelled.Token));
    }

    [Fact]
    public async Task The_automatic_top_up_pays_the_shortfall_and_never_more_than_its_budget()
    {
        var (agents, _) = Clients();
        var (domain, _) = await PublisherAsync(0.40m);
        var agent = (await agents.RegisterAsync(Email("auto"), Password)).Required;
        var token = agent.Crawler.CrawlerToken!;
        var budget = new TopUpBudget("sandbox", 1.00m);

        // Empty wallet, 0.40 to pay: the shortfall is below the 0.50 minimum, so 0.50 is topped up, and the retry is charged.
        var first = await agents.VerifyWithTopUpAsync(token, agent.Token, domain, "/article/1", PriceIntent.Auto, budget);
        Assert.True(first.Verify.Value!.AccessGranted, first.Verify.Value.Message);
        Assert.Equal(0.50m, first.TopUp!.Required.Amount);
        // 0.10 left, 0.30 short: another 0.50, the budget's last.
        var second = await agents.VerifyWithTopUpAsync(token, agent.Token, domain, "/article/2", PriceIntent.Auto, budget);
        Assert.True(second.Verify.Value!.AccessGranted);
        Assert.Equal(1.00m, budget.Used);
        // 0.20 left, 0.20 short: the budget has nothing left, so no top-up, and the refusal stands.
        var third = await agents.VerifyWithTopUpAsync(token, agent.Token, domain, "/article/3", PriceIntent.Auto, budget);
        Assert.Equal("insufficient_balance", third.Verify.Value!.Error);
        Assert.Null(third.TopUp);

        // Many at once on a fresh budget: together they never top up more than it.
        var other = (await agents.RegisterAsync(Email("burst"), Password)).Required;
        var burstBudget = new TopUpBudget("sandbox", 1.50m);
        var burst = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            agents.VerifyWithTopUpAsync(other.Crawler.CrawlerToken!, other.Token, domain, $"/article/burst-{i}", PriceIntent.Auto, burstBudget)));
        var credited = (await agents.DepositsAsync(other.Token)).Required.Where(d => d.State == "credited").Sum(d => d.Amount ?? 0m);
        Assert.True(credited <= 1.50m, $"topped up {credited}");
        Assert.Equal(credited, burstBudget.Used);
        var charged = burst.Count(b => b.Verify.Value!.AccessGranted);
        Assert.Equal(credited - (await agents.BalanceAsync(other.Token)).Required, charged * 0.40m);
    }

    [Fact]
    public async Task The_guard_is_set_and_read_through_the_typed_client()
    {
        var (agents, _) = Clients();
        var (domain, _) = await PublisherAsync(0.40m);
        var agent = (await agents.RegisterAsync(Email("guarded"), Password)).Required;
        await agents.TopUpAsync(agent.Token, 5.00m, "sandbox");

        var set = (await agents.SetGuardAsync(agent.Token, new GuardPolicy { DailyBudget = 0.50m, PublisherDenylist = ["blocked.example"] })).Required;
        Assert.Equal(0.50m, set.DailyBudget);
        Assert.Equal(["blocked.example"], (await agents.GuardAsync(agent.Token)).Required.PublisherDenylist!);

        Assert.True((await agents.VerifyAsync(agent.Crawler.CrawlerToken!, domain, "/article/1", PriceIntent.Auto)).Value!.AccessGranted);
        Assert.Equal("budget_exceeded", (await agents.VerifyAsync(agent.Crawler.CrawlerToken!, domain, "/article/2", PriceIntent.Auto)).Value!.Error);
        var badPolicy = await agents.SetGuardAsync(agent.Token, new GuardPolicy { DailyBudget = -1m });
        Assert.Equal((400, "invalid_guard"), (badPolicy.Status, badPolicy.Error!.Code));
    }
}

public sealed class SqliteTypedClientTests() : TypedClientTests(StorageOptions.Sqlite);

public sealed class PostgresTypedClientTests() : TypedClientTests(StorageOptions.Postgres);
