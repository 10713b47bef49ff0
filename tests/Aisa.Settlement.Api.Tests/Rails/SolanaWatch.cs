using System.Text.Json;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>Configuration and look-ups for tests of the Solana watcher against the real runtime (LiteSVM behind our JSON-RPC front end).</summary>
public static class SolanaWatch
{
    public const string Job = "watch:solana";

    public static Dictionary<string, string> Settings(Uri rpc, SolanaTreasury treasury, int leaseSeconds = 3) => new()
    {
        ["Rails:Solana:RpcUrls:0"] = rpc.ToString(),
        ["Rails:Solana:TreasuryOwner"] = treasury.Owner,
        ["Rails:Solana:UsdcMint"] = treasury.Mint,
        ["Rails:Solana:PollIntervalSeconds"] = "1",
        ["Rails:Solana:RpcTimeoutSeconds"] = "2",
        ["Scheduling:LeaseSeconds"] = leaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The agent's Solana instructions, as the agent API shows them: the treasury owner and the agent's own reference.</summary>
    public static async Task<JsonElement> InstructionsAsync(AisaClient client, string session)
    {
        var reply = await client.SendAsync(HttpMethod.Get, "/api/agent/deposit-addresses", headers: AisaClient.Bearer(session));
        Assert.Equal(200, reply.Code);
        return reply.Body.GetProperty("addresses").EnumerateArray().Single(a => a.GetProperty("rail").GetString() == "solana");
    }

    public static async Task<string> ReferenceAsync(AisaClient client, string session) =>
        (await InstructionsAsync(client, session)).GetProperty("reference").GetString()!;

    /// <summary>Waits for a first pass of the watcher: it sets where the watcher starts (the treasury's history before it is not read).</summary>
    public static Task WaitForFirstPassAsync(AisaClient client) =>
        EvmWatch.WaitForRunsAsync(client, 0, runs => runs.Any(r => r.GetProperty("outcome").GetString() == "succeeded"), "a first Solana pass", Job);

    /// <summary>Waits for two passes that began after now: whatever could still happen has happened.</summary>
    public static async Task WaitForTwoMorePassesAsync(AisaClient client) =>
        await EvmWatch.WaitForRunsAsync(client, await EvmWatch.LastRunIdAsync(client, Job), runs => runs.Count(r => r.GetProperty("outcome").GetString() == "succeeded") >= 2,
            "two more Solana passes", Job);

    public static async Task<decimal> SuspenseAsync(AisaClient client) =>
        (await client.AuditAsync()).GetProperty("accounts").EnumerateArray().Single(a => a.GetProperty("code").GetString() == "suspense").GetProperty("derivedBalance").GetDecimal();
}
