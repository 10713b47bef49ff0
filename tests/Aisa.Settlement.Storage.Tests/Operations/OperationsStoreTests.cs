using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Operations;

namespace Aisa.Settlement.Storage.Tests.Operations;

/// <summary>The dashboard chart's charges per minute, written by several instances, on both stores.</summary>
public abstract class OperationsStoreTests : IAsyncLifetime
{
    private ITestDatabase _testDatabase = null!;
    private SqlDatabase _database = null!;
    private OperationsStore _operations = null!;

    protected abstract Task<ITestDatabase> CreateTestDatabaseAsync();

    public async Task InitializeAsync()
    {
        _testDatabase = await CreateTestDatabaseAsync();
        _database = _testDatabase.Open();
        await _database.MigrateAsync(CancellationToken.None);
        _operations = new OperationsStore(_database);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        await _testDatabase.DisposeAsync();
    }

    private static readonly DateTimeOffset Noon = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Each_instance_writes_its_minutes_a_later_write_replaces_its_own_and_the_chart_sums_the_instances()
    {
        await _operations.RecordChargeMinutesAsync("a", [new(Noon, 5, new Micros(50_000)), new(Noon.AddMinutes(1), 1, new Micros(10_000))], CancellationToken.None);
        await _operations.RecordChargeMinutesAsync("b", [new(Noon, 2, new Micros(20_000))], CancellationToken.None);
        // Instance a's noon grew since its last write: its row is replaced, not added to.
        await _operations.RecordChargeMinutesAsync("a", [new(Noon, 7, new Micros(70_000))], CancellationToken.None);
        await _operations.RecordChargeMinutesAsync("a", [new(Noon.AddMinutes(-90), 3, new Micros(30_000))], CancellationToken.None);

        var chart = await _operations.ChargesPerMinuteAsync(Noon.AddMinutes(-59).AddSeconds(-30), CancellationToken.None);

        Assert.Equal([(Noon, 9L, new Micros(90_000)), (Noon.AddMinutes(1), 1L, new Micros(10_000))], chart.Select(m => (m.Minute, m.Charges, m.Amount)));
        Assert.Equal(1, await _operations.PruneChargeMinutesAsync(Noon.AddHours(-1), CancellationToken.None));
        Assert.Equal(2, (await _operations.ChargesPerMinuteAsync(Noon.AddDays(-1), CancellationToken.None)).Count);
    }
}

public sealed class SqliteOperationsStoreTests : OperationsStoreTests
{
    protected override Task<ITestDatabase> CreateTestDatabaseAsync() => Task.FromResult<ITestDatabase>(new SqliteTestDatabase());
}

public sealed class PostgresOperationsStoreTests : OperationsStoreTests
{
    protected override async Task<ITestDatabase> CreateTestDatabaseAsync() => await PostgresTestDatabase.CreateAsync();
}
