using System.Net;
using System.Text.Json;
using Aisa.Settlement.Api.Tests.Dashboard;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Notifications;

/// <summary>
/// The money events an agent's webhook receives (a top-up credited, the balance running low) against a real receiver
/// that fails each delivery twice, on both stores, with top-ups on the sandbox rail (Development); redelivered by the
/// agent through the API and by an operator from the console; no delivery carries a secret.
/// </summary>
public abstract class WebhookEventTests(string provider) : ServiceTests(provider)
{
    protected override string Environment => "Development";

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Rails:Sandbox:Enabled"] = "true",
        ["Notifications:AllowPrivateNetworks"] = "true",
        ["Notifications:LowBalance"] = "1.00",
        ["Notifications:RetryDelaysSeconds:0"] = "1",
        ["Notifications:RetryDelaysSeconds:1"] = "1",
    };

    [Fact]
    public async Task A_credited_top_up_and_a_low_balance_reach_the_agent_signed_after_two_failures_once_each_and_can_be_sent_again()
    {
        await using var receiver = await WebhookReceiver.StartAsync(failFirst: 2);
        var agent = await Client.RegisterAgentAsync();
        var other = await Client.RegisterAgentAsync();
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/", "pay", 0.25m));
        var set = await Client.SendAsync(HttpMethod.Put, "/api/agent/webhook", receiver.Registration, AisaClient.Bearer(agent.SessionToken));
        var secret = set.Body.GetProperty("secret").GetString()!;

        var topUp = await Client.PostAsync("/api/agent/topup/create-session", new { amount = 1.10m, rail = "sandbox" }, AisaClient.Bearer(agent.SessionToken));
        // 1.10 → 0.85 crosses 1.00: one balance.low; 0.85 → 0.60 is below already: none more.
        var first = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/a", crawlerAutoPrice = true }, agent.CrawlerToken);
        var second = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/b", crawlerAutoPrice = true }, agent.CrawlerToken);
        var taken = await receiver.WaitForAsync(t => t.Count >= 2, "deposit.credited and balance.low");

        Assert.True(topUp.Code == 201, topUp.Raw);
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(["balance.low", "deposit.credited"], taken.Select(t => t.Event).Order());
        var credited = taken.Single(t => t.Event == "deposit.credited").Data;
        Assert.Equal(topUp.Body.GetProperty("depositId").GetInt64(), credited.GetProperty("depositId").GetInt64());
        Assert.Equal("sandbox", credited.GetProperty("rail").GetString());
        Assert.Equal(1.10m, credited.GetProperty("amount").GetDecimal());
        Assert.Equal(1.10m, credited.GetProperty("balance").GetDecimal());
        var low = taken.Single(t => t.Event == "balance.low").Data;
        Assert.Equal(0.85m, low.GetProperty("balance").GetDecimal());
        Assert.Equal(1.00m, low.GetProperty("threshold").GetDecimal());
        Assert.Equal(6, receiver.Attempts.Count);
        Assert.All(receiver.Attempts, a => Assert.True(WebhookReceiver.SignatureHolds(a, secret), $"signature of {a.Event}: {a.Signature}"));

        // The agent sends the credit again: a new delivery of the same body; another agent cannot touch it.
        var log = (await Client.SendAsync(HttpMethod.Get, "/api/agent/webhook/deliveries", headers: AisaClient.Bearer(agent.SessionToken))).Body.GetProperty("deliveries");
        var creditDelivery = log.EnumerateArray().Single(d => d.GetProperty("type").GetString() == "deposit.credited").GetProperty("id").GetInt64();
        var foreign = await Client.SendAsync(HttpMethod.Post, $"/api/agent/webhook/deliveries/{creditDelivery}/redeliver", headers: AisaClient.Bearer(other.SessionToken));
        var again = await Client.SendAsync(HttpMethod.Post, $"/api/agent/webhook/deliveries/{creditDelivery}/redeliver", headers: AisaClient.Bearer(agent.SessionToken));
        var unknown = await Client.SendAsync(HttpMethod.Post, "/api/agent/webhook/deliveries/99999999/redeliver", headers: AisaClient.Bearer(agent.SessionToken));
        Assert.Equal(404, foreign.Code);
        Assert.Equal("delivery_not_found", foreign.Body.GetProperty("error").GetString());
        Assert.Equal(404, unknown.Code);
        Assert.True(again.Code == 202, again.Raw);
        var copyId = again.Body.GetProperty("delivery").GetProperty("id").GetInt64();
        Assert.NotEqual(creditDelivery, copyId);
        var resent = await receiver.WaitForAsync(t => t.Any(r => r.Delivery == copyId.ToString(System.Globalization.CultureInfo.InvariantCulture)), "the redelivery");
        Assert.Equal(taken.Single(t => t.Event == "deposit.credited").Body, resent.Single(r => r.Delivery == copyId.ToString(System.Globalization.CultureInfo.InvariantCulture)).Body);

        // An operator sends the low-balance notice again from the console; a form without its antiforgery token does nothing.
        var lowDelivery = log.EnumerateArray().Single(d => d.GetProperty("type").GetString() == "balance.low").GetProperty("id").GetInt64();
        using var console = await OperatorLogin.LoggedInAsync(Factory);
        var page = await console.GetStringAsync(new Uri($"/dashboard/webhooks?owner=agent:{agent.Id}", UriKind.Relative));
        Assert.Contains($"/dashboard/webhooks/deliveries/{lowDelivery}/redeliver", page, StringComparison.Ordinal);
        var csrf = await OperatorLogin.CsrfAsync(console, "/dashboard/webhooks");
        var forged = await OperatorLogin.PostFormAsync(console, $"/dashboard/webhooks/deliveries/{lowDelivery}/redeliver", null);
        var before = (await Client.SendAsync(HttpMethod.Get, "/api/agent/webhook/deliveries", headers: AisaClient.Bearer(agent.SessionToken))).Body.GetProperty("deliveries").GetArrayLength();
        var redeliver = await OperatorLogin.PostFormAsync(console, $"/dashboard/webhooks/deliveries/{lowDelivery}/redeliver", csrf);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal(3, before);
        Assert.Equal(HttpStatusCode.Redirect, redeliver.StatusCode);
        var final = await receiver.WaitForAsync(t => t.Count(r => r.Event == "balance.low") == 2, "the console's redelivery");
        Assert.Equal(4, (await Client.SendAsync(HttpMethod.Get, "/api/agent/webhook/deliveries", headers: AisaClient.Bearer(agent.SessionToken))).Body.GetProperty("deliveries").GetArrayLength());
        var crawlerPage = await console.GetStringAsync(new Uri($"/dashboard/crawlers/{agent.Id}", UriKind.Relative));
        Assert.Contains("#redelivery-", crawlerPage, StringComparison.Ordinal);

        // No attempt carried a secret: the webhook's own, the agent's tokens, the operator's key.
        Assert.All(receiver.Attempts, a =>
        {
            foreach (var secretValue in new[] { secret, agent.CrawlerToken, agent.SessionToken, session, SettlementFactory.OperatorKey })
            {
                Assert.DoesNotContain(secretValue, a.Body + a.Headers, StringComparison.Ordinal);
            }
        });
        Assert.Equal(0.60m, await Client.BalanceAsync(agent.SessionToken));
        Assert.Equal(2, final.Count(r => r.Event == "deposit.credited"));
    }

    [Fact]
    public async Task Without_a_webhook_nothing_is_recorded_and_a_redelivery_of_a_removed_one_is_refused()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var agent = await Client.RegisterAgentAsync();

        await Client.PostAsync("/api/agent/topup/create-session", new { amount = 2m, rail = "sandbox" }, AisaClient.Bearer(agent.SessionToken));
        var none = await Client.SendAsync(HttpMethod.Get, "/api/agent/webhook/deliveries", headers: AisaClient.Bearer(agent.SessionToken));
        await Client.SendAsync(HttpMethod.Put, "/api/agent/webhook", receiver.Registration, AisaClient.Bearer(agent.SessionToken));
        await Client.PostAsync("/api/agent/topup/create-session", new { amount = 3m, rail = "sandbox" }, AisaClient.Bearer(agent.SessionToken));
        var taken = await receiver.WaitForAsync(t => t.Count == 1, "the second top-up's credit");
        var id = (await Client.SendAsync(HttpMethod.Get, "/api/agent/webhook/deliveries", headers: AisaClient.Bearer(agent.SessionToken))).Body.GetProperty("deliveries")[0].GetProperty("id").GetInt64();
        var removed = await Client.SendAsync(HttpMethod.Delete, "/api/agent/webhook", headers: AisaClient.Bearer(agent.SessionToken));
        var refused = await Client.SendAsync(HttpMethod.Post, $"/api/agent/webhook/deliveries/{id}/redeliver", headers: AisaClient.Bearer(agent.SessionToken));

        Assert.Equal(0, none.Body.GetProperty("deliveries").GetArrayLength());
        Assert.Equal(3m, Assert.Single(taken).Data.GetProperty("amount").GetDecimal());
        Assert.Equal(5m, Assert.Single(taken).Data.GetProperty("balance").GetDecimal());
        Assert.Equal(204, removed.Code);
        Assert.Equal(409, refused.Code);
        Assert.Equal("no_webhook", refused.Body.GetProperty("error").GetString());
    }
}

public sealed class SqliteWebhookEventTests() : WebhookEventTests(StorageOptions.Sqlite);

public sealed class PostgresWebhookEventTests() : WebhookEventTests(StorageOptions.Postgres);

/// <summary>Redelivery is refused while the owner has <see cref="Api.Notifications.Notifier.MaxPending"/> deliveries still being tried.</summary>
public sealed class WebhookRedeliveryLimitTests() : ServiceTests(StorageOptions.Sqlite)
{
    protected override string Environment => "Development";

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Rails:Sandbox:Enabled"] = "true",
        ["Notifications:AllowPrivateNetworks"] = "true",
        // A failed attempt waits an hour for the next: every delivery stays pending through the test.
        ["Notifications:RetryDelaysSeconds:0"] = "3600",
    };

    [Fact]
    public async Task A_receiver_that_keeps_failing_gets_at_most_ten_deliveries_in_flight_from_redeliveries()
    {
        await using var receiver = await WebhookReceiver.StartAsync(failFirst: int.MaxValue);
        var agent = await Client.RegisterAgentAsync();
        await Client.SendAsync(HttpMethod.Put, "/api/agent/webhook", receiver.Registration, AisaClient.Bearer(agent.SessionToken));
        await Client.PostAsync("/api/agent/topup/create-session", new { amount = 2m, rail = "sandbox" }, AisaClient.Bearer(agent.SessionToken));
        var original = (await Client.SendAsync(HttpMethod.Get, "/api/agent/webhook/deliveries", headers: AisaClient.Bearer(agent.SessionToken))).Body
            .GetProperty("deliveries")[0].GetProperty("id").GetInt64();
        var path = $"/api/agent/webhook/deliveries/{original}/redeliver";

        var accepted = new List<Reply>();
        for (var i = 0; i < Api.Notifications.Notifier.MaxPending - 1; i++)
        {
            accepted.Add(await Client.SendAsync(HttpMethod.Post, path, headers: AisaClient.Bearer(agent.SessionToken)));
        }
        var refused = await Client.SendAsync(HttpMethod.Post, path, headers: AisaClient.Bearer(agent.SessionToken));

        Assert.All(accepted, a => Assert.Equal(202, a.Code));
        Assert.Equal((429, "too_many_pending"), (refused.Code, refused.Error));
        var log = (await Client.SendAsync(HttpMethod.Get, "/api/agent/webhook/deliveries", headers: AisaClient.Bearer(agent.SessionToken))).Body.GetProperty("deliveries");
        Assert.Equal(Api.Notifications.Notifier.MaxPending, log.GetArrayLength());
        Assert.All(log.EnumerateArray(), d => Assert.Equal("pending", d.GetProperty("state").GetString()));
    }
}
