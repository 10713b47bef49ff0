using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Api.Tests;

/// <summary>A running service on a fresh database of <paramref name="provider"/> for each test, and a client for it.</summary>
public abstract class ServiceTests(string provider) : IAsyncLifetime
{
    protected string Provider => provider;
    protected TestStore Store { get; private set; } = null!;
    protected SettlementFactory Factory { get; private set; } = null!;
    protected AisaClient Client { get; private set; } = null!;

    protected virtual IReadOnlyDictionary<string, string>? Settings => null;

    /// <summary>The host environment the service runs in (Development: the sandbox rail may be on, publishers taken at their word).</summary>
    protected virtual string Environment => "Testing";

    /// <summary>The service's clock: the real one, which a test may move forward (and back) by hand.</summary>
    protected TestClock Clock { get; } = new();

    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public async Task InitializeAsync()
    {
        Store = await TestStore.CreateAsync(provider);
        Factory = new SettlementFactory(Store, Settings, services =>
        {
            services.AddSingleton<TimeProvider>(Clock);
            ConfigureServices(services);
        }, Environment);
        Client = new AisaClient(Factory.CreateClient());
    }

    public async Task DisposeAsync()
    {
        Client.Http.Dispose();
        await Factory.DisposeAsync();
        await Store.DisposeAsync();
    }

    /// <summary>Money moved so far: transfers and their total, to show that a request moved none.</summary>
    protected async Task<(long Transfers, decimal Moved)> LedgerTotalsAsync()
    {
        var audit = await Client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
        return (audit.GetProperty("transfers").GetInt64(), audit.GetProperty("totalMoved").GetDecimal());
    }
}
