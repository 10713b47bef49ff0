using Aisa.Settlement.Ledger;
using Aisa.Settlement.Storage.Ledger;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Storage.Tests.Ledger;

/// <summary>
/// A real child process writes transfers through the ledger and is killed with SIGKILL mid-burst: every transfer
/// it reported committed must be in the database, and the ledger must still balance and take new transfers.
/// </summary>
public abstract class LedgerCrashTests : IAsyncLifetime
{
    private ITestDatabase _testDatabase = null!;

    protected abstract Task<ITestDatabase> CreateTestDatabaseAsync();

    public async Task InitializeAsync()
    {
        _testDatabase = await CreateTestDatabaseAsync();
        await using var database = _testDatabase.Open();
        await database.MigrateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await _testDatabase.DisposeAsync();

    [Fact]
    public async Task A_process_killed_mid_burst_loses_no_transfer_it_reported_committed()
    {
        var burst = RepositoryPaths.ProjectAssembly("tests", "Aisa.Settlement.LedgerBurst");
        using var child = ChildProcess.StartDotnet(burst, Path.GetTempPath(), new Dictionary<string, string>(),
            _testDatabase.Provider, _testDatabase.ConnectionString, "8");

        var reported = new List<string>();
        Assert.Equal("ready", child.ReadLine(TimeSpan.FromSeconds(60)));
        while (reported.Count < 400)
        {
            var line = child.ReadLine(TimeSpan.FromSeconds(60))
                ?? throw new Xunit.Sdk.XunitException("The burst stopped early: " + string.Join(" ", child.StandardError));
            reported.AddRange(line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(word => word != "committed"));
        }
        child.KillHard();
        // Lines already in the pipe when the process died were written after their commit too.
        while (child.ReadLine(TimeSpan.FromSeconds(1)) is { } late)
        {
            reported.AddRange(late.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(word => word != "committed"));
        }

        await using var database = _testDatabase.Open();
        var ledger = new SqlLedger(database, TimeProvider.System);
        var missing = new List<string>();
        foreach (var key in reported)
        {
            if (await ledger.FindTransferAsync(key, CancellationToken.None) is null)
            {
                missing.Add(key);
            }
        }
        Assert.Empty(missing);
        var audit = await ledger.AuditAsync(CancellationToken.None);
        Assert.True(audit.Balanced, string.Join(" ", audit.Problems));
        Assert.True(audit.TransferCount >= reported.Count);
        // The ledger still takes transfers: nothing the dead process held is left locked.
        var wallet = (await ledger.FindAccountAsync(AccountCodes.AgentWallet("burst"), CancellationToken.None))!;
        var clearing = (await ledger.FindAccountAsync(AccountCodes.RailClearing("burst"), CancellationToken.None))!;
        var after = await ledger.PostAsync(new TransferRequest("after-the-crash", clearing.Id, wallet.Id, Money.Micros.FromUsd(1m), "deposit"), CancellationToken.None);
        Assert.Equal(PostOutcome.Posted, after.Outcome);
    }
}

public sealed class SqliteLedgerCrashTests : LedgerCrashTests
{
    protected override Task<ITestDatabase> CreateTestDatabaseAsync() => Task.FromResult<ITestDatabase>(new SqliteTestDatabase());
}

public sealed class PostgresLedgerCrashTests : LedgerCrashTests
{
    protected override async Task<ITestDatabase> CreateTestDatabaseAsync() => await PostgresTestDatabase.CreateAsync();
}
