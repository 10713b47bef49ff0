using System.Globalization;
using System.Text.Json;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>Configuration and waiting for tests of the EVM watcher against a real local node.</summary>
public static class EvmWatch
{
    /// <summary>The account xpub (m/44'/60'/0') of the "test test … junk" mnemonic that hardhat and anvil ship.</summary>
    public const string Xpub = "xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP";

    public const int Confirmations = 3;

    /// <summary>Base Sepolia: the published test xpub is refused on a mainnet id.</summary>
    public const long ChainId = 84532;

    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static Dictionary<string, string> Settings(Uri rpc, string token, int decimals = 6, int leaseSeconds = 3) => new()
    {
        ["Rails:Evm:Chains:base:ChainId"] = ChainId.ToString(CultureInfo.InvariantCulture),
        ["Rails:Evm:Chains:base:RpcUrls:0"] = rpc.ToString(),
        ["Rails:Evm:Chains:base:Confirmations"] = Confirmations.ToString(CultureInfo.InvariantCulture),
        ["Rails:Evm:Chains:base:PollIntervalSeconds"] = "1",
        ["Rails:Evm:Chains:base:RpcTimeoutSeconds"] = "1",
        // Small ranges, so a pass reads several.
        ["Rails:Evm:Chains:base:MaxBlockRange"] = "4",
        ["Rails:Evm:Chains:base:StartBlock"] = "0",
        ["Rails:Evm:Chains:base:Xpub"] = Xpub,
        ["Rails:Evm:Chains:base:Tokens:0:Symbol"] = "USDC",
        ["Rails:Evm:Chains:base:Tokens:0:Address"] = token,
        ["Rails:Evm:Chains:base:Tokens:0:Decimals"] = decimals.ToString(CultureInfo.InvariantCulture),
        ["Scheduling:LeaseSeconds"] = leaseSeconds.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The agent's base address, as the agent API shows it.</summary>
    public static async Task<string> AddressAsync(AisaClient client, string session)
    {
        var reply = await client.SendAsync(HttpMethod.Get, "/api/agent/deposit-addresses", headers: AisaClient.Bearer(session));
        Assert.Equal(200, reply.Code);
        var address = reply.Body.GetProperty("addresses").EnumerateArray().Single(a => a.GetProperty("rail").GetString() == "base");
        return address.GetProperty("address").GetString()!;
    }

    public static async Task<JsonElement[]> DepositsAsync(AisaClient client, string session)
    {
        var reply = await client.SendAsync(HttpMethod.Get, "/api/agent/deposits", headers: AisaClient.Bearer(session));
        Assert.Equal(200, reply.Code);
        return reply.Body.GetProperty("deposits").EnumerateArray().ToArray();
    }

    /// <summary>Polls the agent's deposits until one matches; fails with what was last seen.</summary>
    public static async Task<JsonElement> WaitForDepositAsync(AisaClient client, string session, Func<JsonElement, bool> match, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        JsonElement[] last = [];
        while (DateTime.UtcNow < deadline)
        {
            last = await DepositsAsync(client, session);
            if (last.FirstOrDefault(match) is { ValueKind: JsonValueKind.Object } found)
            {
                return found;
            }
            await Task.Delay(200);
        }
        var runs = await client.SendAsync(HttpMethod.Get, "/api/operator/jobs?limit=5", headers: AisaClient.Operator());
        throw new Xunit.Sdk.XunitException($"No deposit {what} within {Patience.TotalSeconds} s; last seen: {JsonSerializer.Serialize(last)}; last runs: {runs.Raw}");
    }

    public static bool Is(this JsonElement deposit, string state, int? confirmations = null) =>
        deposit.GetProperty("state").GetString() == state
        && (confirmations is null || deposit.GetProperty("confirmations").GetInt32() == confirmations);

    /// <summary>The wallet's deposit entries in its statement: one per credit.</summary>
    public static async Task<JsonElement[]> DepositEntriesAsync(AisaClient client, string session)
    {
        var reply = await client.SendAsync(HttpMethod.Get, "/api/agent/transactions", headers: AisaClient.Bearer(session));
        Assert.Equal(200, reply.Code);
        return reply.Body.GetProperty("transactions").EnumerateArray().Where(t => t.GetProperty("type").GetString() == "deposit").ToArray();
    }

    /// <summary>Waits for runs of the watcher (<paramref name="job"/>) that finished after <paramref name="afterRun"/>.</summary>
    public static async Task<JsonElement[]> WaitForRunsAsync(AisaClient client, long afterRun, Func<JsonElement[], bool> enough, string what, string job = "watch:base")
    {
        var deadline = DateTime.UtcNow + Patience;
        JsonElement[] runs = [];
        while (DateTime.UtcNow < deadline)
        {
            var reply = await client.SendAsync(HttpMethod.Get, $"/api/operator/jobs?job={job}&limit=200", headers: AisaClient.Operator());
            Assert.Equal(200, reply.Code);
            runs = reply.Body.GetProperty("runs").EnumerateArray()
                .Where(r => r.GetProperty("id").GetInt64() > afterRun && r.GetProperty("outcome").GetString() != "running").ToArray();
            if (enough(runs))
            {
                return runs;
            }
            await Task.Delay(200);
        }
        throw new Xunit.Sdk.XunitException($"No {what} within {Patience.TotalSeconds} s; runs: {JsonSerializer.Serialize(runs)}");
    }

    public static async Task<long> LastRunIdAsync(AisaClient client, string job = "watch:base")
    {
        var reply = await client.SendAsync(HttpMethod.Get, $"/api/operator/jobs?job={job}&limit=1", headers: AisaClient.Operator());
        return reply.Body.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetInt64()).FirstOrDefault();
    }

    public static decimal Usd(long micros) => micros / 1_000_000m;
}
