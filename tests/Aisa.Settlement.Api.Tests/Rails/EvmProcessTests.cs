using System.Text.Json;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>
/// The built service as real processes (killed with SIGKILL: no shutdown, no lease given up) watching a real local
/// node: a restart between detection and confirmation, and two instances on one PostgreSQL, one killed in the middle of a pass.
/// </summary>
public sealed class EvmProcessTests : IAsyncLifetime
{
    private Ganache _node = null!;
    private string _token = null!;
    private TestStore _store = null!;
    private readonly string _directory = Directory.CreateTempSubdirectory("aisa-evm-").FullName;
    private readonly List<ChildProcess> _services = [];

    public async Task InitializeAsync()
    {
        _node = await Ganache.StartAsync(EvmWatch.ChainId);
        _token = await _node.OrStopAsync(n => n.DeployTokenAsync(decimals: 6));
    }

    public async Task DisposeAsync()
    {
        foreach (var service in _services)
        {
            service.Dispose();
        }
        await _node.DisposeAsync();
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
        Directory.Delete(_directory, recursive: true);
    }

    private (ChildProcess Process, AisaClient Client) Start(IReadOnlyDictionary<string, string>? settings = null)
    {
        var (service, url) = ServiceProcess.Start(_store, _directory, settings ?? EvmWatch.Settings(_node.Url, _token));
        _services.Add(service);
        return (service, new AisaClient(new HttpClient { BaseAddress = url }));
    }

    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task Killed_between_detection_and_confirmation_the_restarted_service_credits_once(string provider)
    {
        _store = await TestStore.CreateAsync(provider);
        var (first, client) = Start();
        var agent = await client.RegisterAgentAsync();
        var address = await EvmWatch.AddressAsync(client, agent.SessionToken);
        await _node.TransferAsync(_token, address, 4_250_000);
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("detected"), "detected");

        first.KillHard();
        await _node.MineAsync(EvmWatch.Confirmations + 2);
        var (_, restarted) = Start();

        await EvmWatch.WaitForDepositAsync(restarted, agent.SessionToken, d => d.Is("credited"), "credited after the restart");
        await EvmWatch.WaitForRunsAsync(restarted, await EvmWatch.LastRunIdAsync(restarted), runs => runs.Length >= 2, "two more passes");
        Assert.Equal(4.25m, await restarted.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(restarted, agent.SessionToken));
        Assert.Single(await EvmWatch.DepositsAsync(restarted, agent.SessionToken));
    }

    [Fact]
    public async Task Two_instances_never_run_two_passes_at_once_and_when_the_one_in_a_pass_is_killed_the_other_goes_on_and_credits_once()
    {
        _store = await TestStore.CreateAsync(StorageOptions.Postgres);
        // The node behind a proxy that can stop a pass in its middle; a request that waits there is not given up on.
        using var proxy = new RpcFaultProxy(_node.Url);
        var settings = EvmWatch.Settings(proxy.Url, _token, leaseSeconds: 5);
        settings["Rails:Evm:Chains:base:RpcTimeoutSeconds"] = "120";
        var one = Start(settings);
        var two = Start(settings);
        var client = one.Client;
        var agent = await client.RegisterAgentAsync();
        var address = await EvmWatch.AddressAsync(client, agent.SessionToken);
        // The first pass fixes where the chain is read from (the head at first start): a transfer mined before it would lie
        // behind the start block, by design, and never be seen.
        await EvmWatch.WaitForRunsAsync(client, 0, r => r.Any(run => run.GetProperty("outcome").GetString() == "succeeded"), "the first pass");

        await _node.TransferAsync(_token, address, 1_000_000);
        await _node.MineAsync(EvmWatch.Confirmations);
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "the first transfer credited");
        await EvmWatch.WaitForRunsAsync(client, 0, r => r.Length >= 5, "five passes");

        // A pass stopped in its middle, holding the watcher's lease: the instance running it is killed there.
        proxy.Hold();
        var stuck = await WaitForAsync(async () => proxy.Held > 0 && await RunningAsync(client) is { } run ? run : null, "a pass waiting on the node");
        var holder = stuck.GetProperty("instance").GetString()!;
        var (dying, survivor) = holder.Contains($":{one.Process.Id}:", StringComparison.Ordinal) ? (one, two) : (two, one);
        Assert.Contains($":{dying.Process.Id}:", holder, StringComparison.Ordinal);
        dying.Process.KillHard();
        var killedAt = DateTimeOffset.UtcNow;
        var lease = (await survivor.Client.SendAsync(HttpMethod.Get, "/api/operator/jobs?job=watch:base&limit=1", headers: AisaClient.Operator()))
            .Body.GetProperty("leases").EnumerateArray().Single(l => l.GetProperty("job").GetString() == "watch:base");
        // It died holding the lease, in its pass.
        Assert.Equal(holder, lease.GetProperty("owner").GetString());
        Assert.True(lease.GetProperty("expiresAt").GetDateTimeOffset() > killedAt, lease.ToString());
        proxy.Release();
        await _node.TransferAsync(_token, address, 2_000_000);
        await _node.MineAsync(EvmWatch.Confirmations);

        await EvmWatch.WaitForDepositAsync(survivor.Client, agent.SessionToken, d => d.Is("credited") && d.GetProperty("amount").GetDecimal() == 2m, "the second transfer credited by the survivor");
        var creditedAfter = DateTimeOffset.UtcNow - killedAt;
        bool AfterTheKill(JsonElement run) => RanOn(run, survivor) && run.GetProperty("startedAt").GetDateTimeOffset() > killedAt;
        var runs = await EvmWatch.WaitForRunsAsync(survivor.Client, 0, r => r.Any(AfterTheKill), "a pass of the survivor after the kill");
        var firstAfter = runs.Where(AfterTheKill).Min(run => run.GetProperty("startedAt").GetDateTimeOffset());
        var takenOverAfter = firstAfter - killedAt;
        // The lease (5 s) and a tick (1 s), unless the dead instance held one of Hangfire's own locks (1 min): reported for the README.
        Console.WriteLine($"failover: the survivor's first pass began {takenOverAfter.TotalSeconds:0.0} s after the kill; the new deposit was credited {creditedAfter.TotalSeconds:0.0} s after it");
        Assert.True(firstAfter >= lease.GetProperty("expiresAt").GetDateTimeOffset(), $"a pass began at {firstAfter:O}, while the dead pass still held the lease: {lease}");

        // Every finished pass on either instance began after the one before it ended: never two at once.
        var finished = runs.Where(r => r.GetProperty("outcome").GetString() == "succeeded").OrderBy(r => r.GetProperty("startedAt").GetDateTimeOffset()).ToList();
        for (var i = 1; i < finished.Count; i++)
        {
            Assert.True(finished[i].GetProperty("startedAt").GetDateTimeOffset() >= finished[i - 1].GetProperty("endedAt").GetDateTimeOffset(),
                $"run {finished[i].GetProperty("id")} started during run {finished[i - 1].GetProperty("id")}");
        }
        Assert.Equal(3m, await survivor.Client.BalanceAsync(agent.SessionToken));
        Assert.Equal(2, (await EvmWatch.DepositEntriesAsync(survivor.Client, agent.SessionToken)).Length);
        var audit = await survivor.Client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    private static bool RanOn(JsonElement run, (ChildProcess Process, AisaClient Client) service) =>
        run.GetProperty("instance").GetString()?.Contains($":{service.Process.Id}:", StringComparison.Ordinal) == true;

    private static async Task<JsonElement?> RunningAsync(AisaClient client)
    {
        var reply = await client.SendAsync(HttpMethod.Get, "/api/operator/jobs?job=watch:base&outcome=running", headers: AisaClient.Operator());
        return reply.Body.GetProperty("runs").EnumerateArray().Select(r => (JsonElement?)r).FirstOrDefault();
    }

    private static async Task<JsonElement> WaitForAsync(Func<Task<JsonElement?>> probe, string what)
    {
        var deadline = DateTime.UtcNow + EvmWatch.Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (await probe() is { } found)
            {
                return found;
            }
            await Task.Delay(100);
        }
        throw new Xunit.Sdk.XunitException($"No {what} within {EvmWatch.Patience.TotalSeconds} s.");
    }
}
