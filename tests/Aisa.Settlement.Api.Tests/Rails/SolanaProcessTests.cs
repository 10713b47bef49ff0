using System.Text.Json;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>
/// The built service as real processes (killed with SIGKILL: no shutdown, no lease given up) watching the real Solana runtime:
/// a restart between detection (confirmed) and finality, and two instances on one PostgreSQL sharing the watcher.
/// </summary>
public sealed class SolanaProcessTests : IAsyncLifetime
{
    private SolanaNode _node = null!;
    private SolanaTreasury _treasury = null!;
    private string _payer = null!;
    private TestStore _store = null!;
    private readonly string _directory = Directory.CreateTempSubdirectory("aisa-solana-").FullName;
    private readonly List<ChildProcess> _services = [];

    public async Task InitializeAsync()
    {
        _node = await SolanaNode.StartAsync();
        _treasury = await _node.SetupAsync();
        _payer = await _node.PayerAsync(_treasury, 1_000_000_000);
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

    private async Task<(ChildProcess Process, AisaClient Client)> StartAsync()
    {
        var (service, url) = ServiceProcess.Start(_store, _directory, SolanaWatch.Settings(_node.Url, _treasury));
        _services.Add(service);
        var client = new AisaClient(new HttpClient { BaseAddress = url });
        await SolanaWatch.WaitForFirstPassAsync(client);
        return (service, client);
    }

    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task Killed_between_detection_and_finality_the_restarted_service_credits_once(string provider)
    {
        _store = await TestStore.CreateAsync(provider);
        var (first, client) = await StartAsync();
        var agent = await client.RegisterAgentAsync();
        var reference = await SolanaWatch.ReferenceAsync(client, agent.SessionToken);
        await _node.TransferAsync(_payer, _treasury, new SolanaTransfer(_treasury.Owner, 4_250_000, Reference: reference));
        await _node.AdvanceAsync(1);
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("detected"), "detected at confirmed");

        first.KillHard();
        await _node.FinalizeAsync();
        var (_, restarted) = await StartAsync();

        await EvmWatch.WaitForDepositAsync(restarted, agent.SessionToken, d => d.Is("credited"), "credited after the restart");
        await SolanaWatch.WaitForTwoMorePassesAsync(restarted);
        Assert.Equal(4.25m, await restarted.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(restarted, agent.SessionToken));
        Assert.Single(await EvmWatch.DepositsAsync(restarted, agent.SessionToken));
    }

    [Fact]
    public async Task Two_instances_on_one_PostgreSQL_run_one_pass_at_a_time_and_credit_every_payment_once()
    {
        _store = await TestStore.CreateAsync(StorageOptions.Postgres);
        var one = await StartAsync();
        var two = await StartAsync();
        var agent = await one.Client.RegisterAgentAsync();
        var reference = await SolanaWatch.ReferenceAsync(one.Client, agent.SessionToken);

        for (var i = 1; i <= 5; i++)
        {
            await _node.TransferAsync(_payer, _treasury, new SolanaTransfer(_treasury.Owner, i * 1_000_000, Reference: reference));
            await _node.FinalizeAsync();
        }
        var deadline = DateTime.UtcNow + EvmWatch.Patience;
        while (await two.Client.BalanceAsync(agent.SessionToken) < 15m)
        {
            Assert.True(DateTime.UtcNow < deadline, "The five payments were not all credited.");
            await Task.Delay(200);
        }
        var runs = await EvmWatch.WaitForRunsAsync(one.Client, 0, r => r.Length >= 8, "eight passes", SolanaWatch.Job);

        // Never two passes at once, on whichever instance each ran.
        var finished = runs.Where(r => r.GetProperty("outcome").GetString() == "succeeded").OrderBy(r => r.GetProperty("startedAt").GetDateTimeOffset()).ToList();
        for (var i = 1; i < finished.Count; i++)
        {
            Assert.True(finished[i].GetProperty("startedAt").GetDateTimeOffset() >= finished[i - 1].GetProperty("endedAt").GetDateTimeOffset(),
                $"run {finished[i].GetProperty("id")} started during run {finished[i - 1].GetProperty("id")}");
        }
        Assert.Equal(15m, await one.Client.BalanceAsync(agent.SessionToken));
        Assert.Equal(5, (await EvmWatch.DepositEntriesAsync(one.Client, agent.SessionToken)).Length);
        var audit = await one.Client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }
}
