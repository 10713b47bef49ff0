using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>
/// The built service as a real process (killed with SIGKILL: no shutdown, no lease given up) on a FAKE LND (no Lightning
/// node runs here): an invoice settled while the service was dead is credited once after the restart, from the replay of
/// the settlements after the stored settle_index.
/// </summary>
public sealed class LndFakeProcessTests : IAsyncLifetime
{
    private LightningFake _lnd = null!;
    private TestStore _store = null!;
    private readonly string _directory = Directory.CreateTempSubdirectory("aisa-lnd-").FullName;
    private readonly List<ChildProcess> _services = [];

    public async Task InitializeAsync() => _lnd = await LightningFake.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var service in _services)
        {
            service.Dispose();
        }
        await _lnd.DisposeAsync();
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<(ChildProcess Process, AisaClient Client)> StartAsync()
    {
        var settings = _lnd.Settings("lnd");
        settings["Scheduling:LeaseSeconds"] = "3";
        var (service, url) = ServiceProcess.Start(_store, _directory, settings);
        _services.Add(service);
        var client = new AisaClient(new HttpClient { BaseAddress = url });
        await LightningWatch.WaitForFirstPassAsync(client);
        return (service, client);
    }

    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task An_invoice_settled_while_the_service_was_killed_is_credited_once_after_the_restart_from_the_settle_index(string provider)
    {
        _store = await TestStore.CreateAsync(provider);
        var (first, client) = await StartAsync();
        var agent = await client.RegisterAgentAsync();
        var (_, earlier) = await LightningWatch.TopUpAsync(client, agent.SessionToken, 1m);
        await _lnd.PayAsync(earlier.PaymentHash);
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "credited before the kill");
        // Its pass stored settle index 1 as where the next replay starts.
        await LightningWatch.WaitForTwoMorePassesAsync(client);
        var (answer, invoice) = await LightningWatch.TopUpAsync(client, agent.SessionToken, 4.25m);

        first.KillHard();
        await _lnd.PayAsync(invoice.PaymentHash);
        await _lnd.ForeignPaymentAsync();
        var (_, restarted) = await StartAsync();

        var depositId = answer.GetProperty("depositId").GetInt64();
        await EvmWatch.WaitForDepositAsync(restarted, agent.SessionToken, d => d.GetProperty("id").GetInt64() == depositId && d.Is("credited"), "credited after the restart");
        await LightningWatch.WaitForTwoMorePassesAsync(restarted);
        Assert.Equal("settle_index 2", (await LightningWatch.EvidenceAsync(restarted, depositId, "credited")).GetProperty("source").GetString());
        Assert.Equal(5.25m, await restarted.BalanceAsync(agent.SessionToken));
        Assert.Equal(2, (await EvmWatch.DepositEntriesAsync(restarted, agent.SessionToken)).Length);
        Assert.Equal(0m, await SolanaWatch.SuspenseAsync(restarted));
        var audit = await restarted.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());

        // Neither service wrote the macaroon or an outgoing request's URL (one may hold a provider's key in its path).
        var output = _services.SelectMany(s => s.StandardOutput.Concat(s.StandardError)).ToList();
        Assert.Contains(output, line => line.Contains("Now listening on", StringComparison.Ordinal));
        Assert.DoesNotContain(output, line => line.Contains(LightningFake.MacaroonHex, StringComparison.Ordinal));
        Assert.DoesNotContain(output, line => line.Contains(_lnd.Url.Authority, StringComparison.Ordinal));
    }
}
