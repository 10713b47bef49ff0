using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Aisa.Settlement.Api.Tests.Notifications;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Guard;

/// <summary>
/// The guard's notices delivered to the agent's webhook: a real receiver (a web app on a loopback port) that fails
/// each delivery's first two attempts; delivery, signature, retries and the log, through Hangfire, on both stores.
/// </summary>
public abstract class GuardWebhookTests(string provider) : ServiceTests(provider)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        // The receiver runs on loopback, over plain http.
        ["Notifications:AllowPrivateNetworks"] = "true",
        ["Notifications:RetryDelaysSeconds:0"] = "1",
        ["Notifications:RetryDelaysSeconds:1"] = "1",
        ["Notifications:RetryDelaysSeconds:2"] = "1",
    };

    [Fact]
    public async Task Approaching_and_reaching_a_budget_and_an_approval_waiting_are_delivered_signed_after_two_failures_and_logged()
    {
        // Each delivery fails twice before the receiver takes it.
        await using var receiver = await WebhookReceiver.StartAsync(failFirst: 2);
        var agent = await Client.RegisterAgentAsync();
        await Client.FundAsync(agent.Id, 5m);
        var (cheap, cheapSession) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(cheapSession, new NewRule("/", "pay", 0.20m));
        var (dear, dearSession) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(dearSession, new NewRule("/", "pay", 0.55m));
        var set = await Client.SendAsync(HttpMethod.Put, "/api/agent/webhook", receiver.Registration, AisaClient.Bearer(agent.SessionToken));
        var secret = set.Body.GetProperty("secret").GetString()!;
        await Client.SendAsync(HttpMethod.Put, "/api/agent/guard", "{\"dailyBudget\": 1.00, \"approvalAbove\": 0.50}", AisaClient.Bearer(agent.SessionToken));

        var waiting = await Client.VerifyAsync(new { publisherDomain = dear, resourceUrl = "/report", crawlerAutoPrice = true }, agent.CrawlerToken);
        var charges = new List<Reply>();
        for (var i = 0; i < 6; i++)
        {
            charges.Add(await Client.VerifyAsync(new { publisherDomain = cheap, resourceUrl = $"/p{i}", crawlerAutoPrice = true }, agent.CrawlerToken));
        }

        Assert.Equal("approval_required", waiting.Error);
        Assert.Equal(5, charges.Count(c => c.Status == HttpStatusCode.OK));
        Assert.Equal("budget_exceeded", charges[^1].Error);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        JsonElement[] log;
        while (true)
        {
            log = [.. (await Client.SendAsync(HttpMethod.Get, "/api/agent/webhook/deliveries", headers: AisaClient.Bearer(agent.SessionToken))).Body.GetProperty("deliveries").EnumerateArray()];
            if (log.Length == 3 && log.All(d => d.GetProperty("state").GetString() == "delivered"))
            {
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, "Not every notice was delivered: " + string.Join(" | ", log.Select(d => d.ToString())));
            await Task.Delay(250);
        }

        Assert.Equal(new[] { "approval.waiting", "budget.approaching", "budget.reached" }, log.Select(d => d.GetProperty("type").GetString()).Order());
        Assert.All(log, d =>
        {
            Assert.Equal(3, d.GetProperty("attempts").GetInt32());
            Assert.Equal(200, d.GetProperty("lastStatus").GetInt32());
        });
        var attempts = receiver.Attempts;
        Assert.Equal(9, attempts.Count);
        Assert.All(attempts, a => Assert.True(WebhookReceiver.SignatureHolds(a, secret), $"signature of {a.Event}: {a.Signature}"));
        Assert.DoesNotContain(attempts, a => a.Body.Contains(secret, StringComparison.Ordinal) || a.Body.Contains(agent.CrawlerToken, StringComparison.Ordinal));
        Assert.False(WebhookReceiver.SignatureHolds(attempts[0] with { Body = attempts[0].Body.Replace("0.55", "0.05", StringComparison.Ordinal) }, secret));
        var approaching = JsonDocument.Parse(attempts.First(a => a.Event == "budget.approaching").Body).RootElement;
        Assert.Equal(0.80m, approaching.GetProperty("data").GetProperty("spent").GetDecimal());
        Assert.Equal(1.00m, approaching.GetProperty("data").GetProperty("limit").GetDecimal());
        var approval = JsonDocument.Parse(attempts.First(a => a.Event == "approval.waiting").Body).RootElement.GetProperty("data");
        Assert.Equal(waiting.Body.GetProperty("approvalId").GetString(), approval.GetProperty("approvalId").GetString());
        Assert.Equal(0.55m, approval.GetProperty("price").GetDecimal());
        // Each notice once: the refused verify after the budget was reached sent no second one.
        Assert.Equal(3, attempts.Select(a => a.Delivery).Distinct().Count());
        var operatorLog = await Client.SendAsync(HttpMethod.Get, $"/api/operator/crawlers/{agent.Id}/webhook/deliveries", headers: AisaClient.Operator());
        Assert.Equal(3, operatorLog.Body.GetProperty("deliveries").GetArrayLength());
        Assert.DoesNotContain(secret, operatorLog.Raw, StringComparison.Ordinal);
        var read = await Client.SendAsync(HttpMethod.Get, "/api/agent/webhook", headers: AisaClient.Bearer(agent.SessionToken));
        Assert.DoesNotContain(secret, read.Raw, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"url\": \"ftp://example.com/hook\"}")]
    [InlineData("{\"url\": \"https://user:pass@example.com/hook\"}")]
    [InlineData("{\"url\": \"/hook\"}")]
    [InlineData("{}")]
    public async Task A_bad_webhook_url_is_refused(string body)
    {
        var agent = await Client.RegisterAgentAsync();

        var reply = await Client.SendAsync(HttpMethod.Put, "/api/agent/webhook", body, AisaClient.Bearer(agent.SessionToken));
        var read = await Client.SendAsync(HttpMethod.Get, "/api/agent/webhook", headers: AisaClient.Bearer(agent.SessionToken));

        Assert.Equal(400, reply.Code);
        Assert.Equal(404, read.Code);
    }
}

public sealed class SqliteGuardWebhookTests() : GuardWebhookTests(StorageOptions.Sqlite);

public sealed class PostgresGuardWebhookTests() : GuardWebhookTests(StorageOptions.Postgres);

/// <summary>As deployed: webhooks go to public addresses over https only.</summary>
public sealed class WebhookAddressTests() : ServiceTests(StorageOptions.Sqlite)
{
    [Fact]
    public async Task Without_private_networks_a_plain_http_url_is_refused_and_a_loopback_receiver_is_never_reached()
    {
        var reached = 0;
        var (site, url) = await LocalSite.StartAsync(_ => { }, app => app.MapPost("/hook", () =>
        {
            Interlocked.Increment(ref reached);
            return Results.Ok();
        }));
        await using var _ = site;
        var agent = await Client.RegisterAgentAsync();
        await Client.FundAsync(agent.Id, 1m);
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/", "pay", 0.60m));

        var plain = await Client.SendAsync(HttpMethod.Put, "/api/agent/webhook", JsonSerializer.Serialize(new { url = new Uri(url, "/hook").ToString() }), AisaClient.Bearer(agent.SessionToken));
        var https = await Client.SendAsync(HttpMethod.Put, "/api/agent/webhook", JsonSerializer.Serialize(new { url = $"https://127.0.0.1:{url.Port}/hook" }), AisaClient.Bearer(agent.SessionToken));
        await Client.SendAsync(HttpMethod.Put, "/api/agent/guard", "{\"approvalAbove\": 0.50}", AisaClient.Bearer(agent.SessionToken));
        await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/a", crawlerAutoPrice = true }, agent.CrawlerToken);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        JsonElement delivery;
        while (true)
        {
            var log = (await Client.SendAsync(HttpMethod.Get, "/api/agent/webhook/deliveries", headers: AisaClient.Bearer(agent.SessionToken))).Body.GetProperty("deliveries");
            if (log.GetArrayLength() == 1 && log[0].GetProperty("attempts").GetInt32() >= 1)
            {
                delivery = log[0];
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, "The delivery was not attempted.");
            await Task.Delay(250);
        }

        Assert.Equal(400, plain.Code);
        Assert.Equal(200, https.Code);
        Assert.Contains("private, loopback or reserved address", delivery.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, reached);
    }
}

/// <summary>On the embedded default Hangfire keeps its queue in memory: a delivery owed when the service stopped is sent by the next start.</summary>
public sealed class WebhookResumeTests() : ServiceTests(StorageOptions.Sqlite)
{
    private static readonly Dictionary<string, string> Slow = new()
    {
        ["Notifications:AllowPrivateNetworks"] = "true",
        ["Notifications:RetryDelaysSeconds:0"] = "3600",
    };

    protected override IReadOnlyDictionary<string, string> Settings => Slow;

    [Fact]
    public async Task A_delivery_owed_at_a_restart_is_delivered_after_it()
    {
        var up = false;
        var received = 0;
        var (site, url) = await LocalSite.StartAsync(_ => { }, app => app.MapPost("/hook", () =>
        {
            Interlocked.Increment(ref received);
            return Volatile.Read(ref up) ? Results.Ok() : Results.StatusCode(503);
        }));
        await using var _ = site;
        var agent = await Client.RegisterAgentAsync();
        await Client.FundAsync(agent.Id, 1m);
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/", "pay", 0.60m));
        await Client.SendAsync(HttpMethod.Put, "/api/agent/webhook", JsonSerializer.Serialize(new { url = new Uri(url, "/hook").ToString() }), AisaClient.Bearer(agent.SessionToken));
        await Client.SendAsync(HttpMethod.Put, "/api/agent/guard", "{\"approvalAbove\": 0.50}", AisaClient.Bearer(agent.SessionToken));
        await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/a", crawlerAutoPrice = true }, agent.CrawlerToken);
        await WaitForAsync(Client, agent, d => d.GetProperty("attempts").GetInt32() == 1, "the first attempt");
        await Factory.DisposeAsync();

        // The next start, two hours on: the retry its predecessor queued in memory is gone; the row says it is owed.
        Volatile.Write(ref up, true);
        var later = new TestClock();
        later.Advance(TimeSpan.FromHours(2));
        await using var restarted = new SettlementFactory(Store, Slow, services => services.AddSingleton<TimeProvider>(later));
        var client = new AisaClient(restarted.CreateClient());
        var delivered = await WaitForAsync(client, agent, d => d.GetProperty("state").GetString() == "delivered", "the delivery after the restart");

        Assert.Equal(2, delivered.GetProperty("attempts").GetInt32());
        Assert.Equal(2, received);
    }

    private static async Task<JsonElement> WaitForAsync(AisaClient client, Registered agent, Func<JsonElement, bool> state, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var log = (await client.SendAsync(HttpMethod.Get, "/api/agent/webhook/deliveries", headers: AisaClient.Bearer(agent.SessionToken))).Body.GetProperty("deliveries");
            if (log.GetArrayLength() == 1 && state(log[0]))
            {
                return log[0];
            }
            Assert.True(DateTime.UtcNow < deadline, $"No {what}: {log}");
            await Task.Delay(250);
        }
    }
}
