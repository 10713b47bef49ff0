using Aisa.Settlement.Storage.Idempotency;

namespace Aisa.Settlement.Storage.Tests.Idempotency;

/// <summary>Claims of Idempotency-Keys and the operation id each one moves money under, on both stores.</summary>
public abstract class IdempotencyStoreTests : IAsyncLifetime
{
    private ITestDatabase _testDatabase = null!;
    private SqlDatabase _database = null!;
    private readonly TestClock _clock = new();
    private IdempotencyStore _store = null!;

    protected abstract Task<ITestDatabase> CreateTestDatabaseAsync();

    public async Task InitializeAsync()
    {
        _testDatabase = await CreateTestDatabaseAsync();
        _database = _testDatabase.Open();
        await _database.MigrateAsync(CancellationToken.None);
        _store = new IdempotencyStore(_database, _clock);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        await _testDatabase.DisposeAsync();
    }

    private static readonly StoredResponse Answer = new(200, new Dictionary<string, string>(), "{}"u8.ToArray());

    private async Task<string> OwnedAsync(string key, string hash)
    {
        var claim = await _store.ClaimAsync("crawler:1", key, hash, CancellationToken.None);
        return Assert.IsType<IdempotencyClaim.Owned>(claim).OperationId;
    }

    [Fact]
    public async Task A_retry_of_a_failed_request_runs_under_the_same_operation_and_another_request_under_a_new_one()
    {
        var first = await OwnedAsync("k", "request-a");
        await _store.ReleaseAsync("crawler:1", "k", CancellationToken.None);
        var retry = await OwnedAsync("k", "request-a");
        await _store.ReleaseAsync("crawler:1", "k", CancellationToken.None);
        var other = await OwnedAsync("k", "request-b");

        Assert.Equal(first, retry);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public async Task A_claim_whose_request_died_is_taken_over_by_its_retry_only_once_it_is_abandoned()
    {
        var first = await OwnedAsync("k", "request-a");

        var meanwhile = await _store.ClaimAsync("crawler:1", "k", "request-a", CancellationToken.None);
        _clock.Advance(IdempotencyStore.Abandoned + TimeSpan.FromSeconds(1));
        var otherRequest = await _store.ClaimAsync("crawler:1", "k", "request-b", CancellationToken.None);
        var takenOver = await OwnedAsync("k", "request-a");
        var twice = await _store.ClaimAsync("crawler:1", "k", "request-a", CancellationToken.None);

        Assert.IsType<IdempotencyClaim.InProgress>(meanwhile);
        Assert.IsType<IdempotencyClaim.Mismatch>(otherRequest);
        Assert.Equal(first, takenOver);
        Assert.IsType<IdempotencyClaim.InProgress>(twice);
    }

    [Fact]
    public async Task An_answered_key_replays_until_the_retention_ends_and_is_then_a_new_operation()
    {
        var first = await OwnedAsync("k", "request-a");
        await _store.CompleteAsync("crawler:1", "k", Answer, CancellationToken.None);

        var replay = await _store.ClaimAsync("crawler:1", "k", "request-a", CancellationToken.None);
        _clock.Advance(IdempotencyStore.Retention + TimeSpan.FromMinutes(1));
        var later = await OwnedAsync("k", "request-b");

        Assert.Equal(Answer.Body, Assert.IsType<IdempotencyClaim.Replay>(replay).Response.Body);
        Assert.NotEqual(first, later);
    }

    [Fact]
    public async Task A_key_claimed_before_operation_ids_were_stored_keeps_the_id_its_key_derived()
    {
        await using (var connection = await _database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync(null, "INSERT INTO idempotent_requests (scope, key, request_hash, created_at) VALUES ('crawler:1', 'old', 'request-a', @at)",
                CancellationToken.None, ("at", (_clock.GetUtcNow() - TimeSpan.FromMinutes(5)).ToUnixTimeMilliseconds()));
        }

        var takenOver = await OwnedAsync("old", "request-a");

        Assert.Equal(IdempotencyStore.LegacyOperationId("crawler:1", "old"), takenOver);
    }

    [Fact]
    public async Task Pruning_forgets_keys_older_than_the_cut_and_keeps_the_others()
    {
        await OwnedAsync("old", "request-a");
        _clock.Advance(TimeSpan.FromHours(30));
        await OwnedAsync("recent", "request-b");

        var pruned = await _store.PruneAsync(_clock.GetUtcNow() - IdempotencyStore.Retention, CancellationToken.None);

        Assert.Equal(1, pruned);
        Assert.IsType<IdempotencyClaim.InProgress>(await _store.ClaimAsync("crawler:1", "recent", "request-b", CancellationToken.None));
    }
}

public sealed class SqliteIdempotencyStoreTests : IdempotencyStoreTests
{
    protected override Task<ITestDatabase> CreateTestDatabaseAsync() => Task.FromResult<ITestDatabase>(new SqliteTestDatabase());
}

public sealed class PostgresIdempotencyStoreTests : IdempotencyStoreTests
{
    protected override async Task<ITestDatabase> CreateTestDatabaseAsync() => await PostgresTestDatabase.CreateAsync();
}
