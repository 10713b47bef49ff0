using System.Text.Json;
using Aisa.Settlement.Adapters.Lightning.Bolt11;
using Aisa.Settlement.Storage.Jobs;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>Top-ups, look-ups and watcher control for the tests of the Lightning rail against the fake backends.</summary>
public static class LightningWatch
{
    public const string Job = "watch:lightning";

    /// <summary>A Lightning top-up as an agent asks for it; the answer must be 201 with an invoice our decoder reads.</summary>
    public static async Task<(JsonElement Answer, Bolt11Invoice Invoice)> TopUpAsync(AisaClient client, string session, decimal amount)
    {
        var reply = await client.PostAsync("/api/agent/topup/create-session", new { amount, rail = "lightning" }, AisaClient.Bearer(session));
        Assert.True(reply.Code == 201, reply.Raw);
        var invoice = Bolt11Invoice.Decode(reply.Body.GetProperty("invoice").GetString()!);
        return (reply.Body, invoice);
    }

    /// <summary>The operator's view of a deposit: {deposit, ledgerKey, transitions:[{from, to, evidence}]}.</summary>
    public static async Task<JsonElement> OperatorViewAsync(AisaClient client, long depositId)
    {
        var reply = await client.SendAsync(HttpMethod.Get, $"/api/operator/deposits/{depositId}", headers: AisaClient.Operator());
        Assert.Equal(200, reply.Code);
        return reply.Body;
    }

    /// <summary>The evidence of the deposit's last transition into <paramref name="state"/>.</summary>
    public static async Task<JsonElement> EvidenceAsync(AisaClient client, long depositId, string state) =>
        (await OperatorViewAsync(client, depositId)).GetProperty("transitions").EnumerateArray().Last(t => t.GetProperty("to").GetString() == state).GetProperty("evidence");

    public static Task WaitForFirstPassAsync(AisaClient client) =>
        EvmWatch.WaitForRunsAsync(client, 0, runs => runs.Any(r => r.GetProperty("outcome").GetString() == "succeeded"), "a first Lightning pass", Job);

    /// <summary>Waits for two passes that began after now: whatever could still happen has happened.</summary>
    public static async Task WaitForTwoMorePassesAsync(AisaClient client) =>
        await EvmWatch.WaitForRunsAsync(client, await EvmWatch.LastRunIdAsync(client, Job), runs => runs.Count(r => r.GetProperty("outcome").GetString() == "succeeded") >= 2,
            "two more Lightning passes", Job);

    /// <summary>Pauses the watcher and waits until no pass of it holds the lease: from then on only a webhook (or a pass asked for) moves anything.</summary>
    public static async Task PauseAsync(SettlementFactory factory)
    {
        var jobs = factory.Services.GetRequiredService<JobStore>();
        await jobs.SetPausedAsync(Job, true, CancellationToken.None);
        var deadline = DateTime.UtcNow + EvmWatch.Patience;
        while ((await jobs.LeasesAsync(CancellationToken.None)).Any(l => l.Job == Job && l.ExpiresAt > DateTimeOffset.UtcNow))
        {
            Assert.True(DateTime.UtcNow < deadline, "A Lightning pass still held the lease.");
            await Task.Delay(100);
        }
    }

    /// <summary>One pass of the paused watcher, asked for and waited for; returns it (outcome, summary, error).</summary>
    public static async Task<JsonElement> RunOnePassAsync(SettlementFactory factory, AisaClient client)
    {
        var last = await EvmWatch.LastRunIdAsync(client, Job);
        await factory.Services.GetRequiredService<JobStore>().RequestRunAsync(Job, CancellationToken.None);
        return (await EvmWatch.WaitForRunsAsync(client, last, runs => runs.Length >= 1, "the pass asked for", Job)).MinBy(r => r.GetProperty("id").GetInt64());
    }
}
