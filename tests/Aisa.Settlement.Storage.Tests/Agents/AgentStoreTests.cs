using Aisa.Settlement.Identity;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Ledger;

namespace Aisa.Settlement.Storage.Tests.Agents;

/// <summary>Token lookups share queries under load: each must still get its own agent, and a rotated token none.</summary>
public abstract class AgentStoreTests : IAsyncLifetime
{
    private ITestDatabase _testDatabase = null!;
    private SqlDatabase _database = null!;
    private AgentStore _agents = null!;

    protected abstract Task<ITestDatabase> CreateTestDatabaseAsync();

    public async Task InitializeAsync()
    {
        _testDatabase = await CreateTestDatabaseAsync();
        _database = _testDatabase.Open();
        await _database.MigrateAsync(CancellationToken.None);
        _agents = new AgentStore(_database, new SqlLedger(_database, TimeProvider.System), TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        await _testDatabase.DisposeAsync();
    }

    [Fact]
    public async Task Concurrent_token_lookups_each_find_their_own_agent_and_a_rotated_token_finds_none()
    {
        var tokens = new List<(string Token, long AgentId)>();
        for (var i = 0; i < 40; i++)
        {
            var token = Secrets.NewCrawlerToken();
            var agent = await _agents.RegisterAsync(new NewAgent($"agent{i}@example.com", "hash", null, null, null, null, Secrets.Hash(token)), CancellationToken.None);
            tokens.Add((token, agent!.Id));
        }
        var rotated = tokens[0];
        Assert.True(await _agents.RotateTokenAsync(rotated.AgentId, Secrets.Hash(Secrets.NewCrawlerToken()), CancellationToken.None));

        // 40 agents, each asked for 10 times at once, plus tokens nobody holds.
        var asks = Enumerable.Range(0, 400).Select(i => (Token: tokens[i % tokens.Count].Token, Expected: i % tokens.Count == 0 ? (long?)null : tokens[i % tokens.Count].AgentId))
            .Concat(Enumerable.Range(0, 20).Select(_ => (Token: Secrets.NewCrawlerToken(), Expected: (long?)null)))
            .ToList();
        using var start = new ManualResetEventSlim();
        var lookups = asks.Select(ask => Task.Run(async () =>
        {
            start.Wait();
            return (await _agents.FindByTokenHashAsync(Secrets.Hash(ask.Token), CancellationToken.None))?.Id;
        })).ToArray();
        start.Set();
        var found = await Task.WhenAll(lookups);

        Assert.Equal(asks.Select(a => a.Expected), found);
    }
}

public sealed class SqliteAgentStoreTests : AgentStoreTests
{
    protected override Task<ITestDatabase> CreateTestDatabaseAsync() => Task.FromResult<ITestDatabase>(new SqliteTestDatabase());
}

public sealed class PostgresAgentStoreTests : AgentStoreTests
{
    protected override async Task<ITestDatabase> CreateTestDatabaseAsync() => await PostgresTestDatabase.CreateAsync();
}
