using System.Net;
using System.Text.Json;
using Aisa.Settlement.Api.Tests.Rails;
using Aisa.Settlement.Testing;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Payouts;

/// <summary>What every payout test does through the public API: a publisher that earned, its settings, a run, and waiting for a payout's state.</summary>
public static class PayoutFlow
{
    public const string RunJob = "payouts:run";

    /// <summary>
    /// A publisher that earned from <paramref name="charges"/> charges of $1.50 (90% to it), paid on <paramref name="rail"/> at
    /// <paramref name="destination"/> from $1.00 up.
    /// </summary>
    public static async Task<(string Session, decimal Earned, string Domain)> EarningPublisherAsync(AisaClient client, int charges, string rail, string destination)
    {
        var agent = await client.RegisterAgentAsync();
        await client.FundAsync(agent.Id, 100m);
        var (domain, session) = await client.RegisterPublisherAsync();
        await client.CreateRuleAsync(session, new NewRule("/", "pay", 1.5m));
        for (var i = 0; i < charges; i++)
        {
            var reply = await client.VerifyAsync(new { publisherDomain = domain, resourceUrl = $"/article/{i}", crawlerMaxPrice = "USD 1.50" }, agent.CrawlerToken);
            Assert.True(reply.Status == HttpStatusCode.OK, reply.Raw);
        }
        var saved = await client.SendAsync(HttpMethod.Put, "/api/publisher/payout-settings",
            JsonSerializer.Serialize(new { rail, destination, minimumAmount = 1m }), AisaClient.Bearer(session));
        Assert.True(saved.Code == 200, saved.Raw);
        return (session, charges * 1.35m, domain);
    }

    public static async Task<JsonElement> PayoutsAsync(AisaClient client, string session)
    {
        var reply = await client.SendAsync(HttpMethod.Get, "/api/publisher/payouts", headers: AisaClient.Bearer(session));
        Assert.True(reply.Code == 200, reply.Raw);
        return reply.Body.GetProperty("payouts");
    }

    /// <summary>
    /// Until the publisher's newest payout is in <paramref name="state"/> (and meets <paramref name="also"/>), moving the chain on by
    /// <paramref name="tick"/> between looks; fails with what was last seen.
    /// </summary>
    public static async Task<JsonElement> WaitForPayoutAsync(AisaClient client, string session, string state, Func<Task> tick, Func<JsonElement, bool>? also = null)
    {
        var deadline = DateTime.UtcNow + EvmWatch.Patience;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var payouts = await PayoutsAsync(client, session);
            last = payouts.GetRawText();
            if (payouts.GetArrayLength() > 0 && payouts[0].GetProperty("state").GetString() == state && (also is null || also(payouts[0])))
            {
                return payouts[0];
            }
            await tick();
            await Task.Delay(200);
        }
        var runs = await client.SendAsync(HttpMethod.Get, "/api/operator/jobs?limit=5", headers: AisaClient.Operator());
        throw new Xunit.Sdk.XunitException($"No payout {state} within {EvmWatch.Patience.TotalSeconds} s; last seen: {last}; last runs: {runs.Raw}");
    }

    public static async Task RunAsync(AisaClient client)
    {
        var run = await client.PostAsync("/api/operator/payouts/run", new { }, AisaClient.Operator());
        Assert.True(run.Code == 202, run.Raw);
    }

    /// <summary>Starts a payout run and waits until it has run.</summary>
    public static async Task RunAndWaitAsync(AisaClient client)
    {
        var before = await EvmWatch.LastRunIdAsync(client, RunJob);
        await RunAsync(client);
        await EvmWatch.WaitForRunsAsync(client, before, runs => runs.Any(r => r.GetProperty("outcome").GetString() == "succeeded"), "a payout run", RunJob);
    }

    public static async Task<JsonElement> EarningsAsync(AisaClient client, string session)
    {
        var reply = await client.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(session));
        Assert.True(reply.Code == 200, reply.Raw);
        return reply.Body;
    }

    /// <summary>
    /// The service as a process whose node is behind <paramref name="proxy"/>, killed (SIGKILL) the moment the node has answered
    /// a request naming <paramref name="method"/> and before the service hears the answer: the payment is out, its outcome
    /// unrecorded. Returns once it has been killed, with the publisher's session it was paying; a second start (restart) goes on.
    /// </summary>
    public static async Task<string> PayAndKillAsync(TestStore store, string directory, IReadOnlyDictionary<string, string> settings, RpcFaultProxy proxy, string method,
        List<ChildProcess> services, Func<AisaClient, Task<string>> earningPublisher)
    {
        ChildProcess? service = null;
        proxy.AfterForward = body =>
        {
            if (body.Contains(method, StringComparison.Ordinal))
            {
                service?.KillHard();
            }
        };
        var (started, url) = ServiceProcess.Start(store, directory, settings);
        services.Add(started);
        service = started;
        var client = new AisaClient(new HttpClient { BaseAddress = url });
        var session = await earningPublisher(client);
        await RunAsync(client);
        await WaitUntilAsync(() => started.HasExited, $"the service killed once its payout's {method} reached the node");
        proxy.AfterForward = null;
        return session;
    }

    /// <summary>The service as a process again, on the same store and settings.</summary>
    public static AisaClient Restart(TestStore store, string directory, IReadOnlyDictionary<string, string> settings, List<ChildProcess> services)
    {
        var (restarted, url) = ServiceProcess.Start(store, directory, settings);
        services.Add(restarted);
        return new AisaClient(new HttpClient { BaseAddress = url });
    }

    public static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + EvmWatch.Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"Not within {EvmWatch.Patience.TotalSeconds} s: {what}.");
            }
            await Task.Delay(100);
        }
    }
}
