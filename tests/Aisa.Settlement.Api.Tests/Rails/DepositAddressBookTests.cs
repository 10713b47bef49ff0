using Aisa.Settlement.Api.Deposits;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Storage.Deposits;
using Npgsql;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>
/// The watcher's address book on a real PostgreSQL, where identity values become visible in commit order: two agents'
/// addresses stored at once, the lower id committing last, must both be loaded.
/// </summary>
public sealed class DepositAddressBookTests : IAsyncLifetime
{
    private TestStore _store = null!;
    private SettlementFactory _service = null!;
    private PostgresDatabase _database = null!;

    public async Task InitializeAsync()
    {
        _store = await TestStore.CreateAsync(StorageOptions.Postgres);
        _service = new SettlementFactory(_store);
        _database = new PostgresDatabase(_store.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        await _service.DisposeAsync();
        await _store.DisposeAsync();
    }

    /// <summary>Backends of this database waiting for a lock, as PostgreSQL itself reports them.</summary>
    private async Task<long> WaitingForLocksAsync()
    {
        await using var connection = new NpgsqlConnection(_store.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + EvmWatch.Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"Not {what} within {EvmWatch.Patience.TotalSeconds} s.");
            }
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task An_address_whose_transaction_commits_after_a_higher_id_was_read_is_still_loaded()
    {
        var client = new AisaClient(_service.CreateClient());
        var first = await client.RegisterAgentAsync();
        var second = await client.RegisterAgentAsync();
        var addresses = new DepositAddressStore(_database, TimeProvider.System);
        var book = new DepositAddressBook("base", addresses);
        await book.RefreshAsync(CancellationToken.None);
        const string firstAddress = "0x00000000000000000000000000000000000000a1";
        const string secondAddress = "0x00000000000000000000000000000000000000b2";

        // Holding the first agent's row makes the insert of its address wait at its foreign-key check, after its id was drawn.
        await using var holder = new NpgsqlConnection(_store.ConnectionString);
        await holder.OpenAsync();
        await using var hold = await holder.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("SELECT id FROM agents WHERE id = @id FOR UPDATE", holder, hold))
        {
            lockRow.Parameters.AddWithValue("id", first.Id);
            await lockRow.ExecuteScalarAsync();
        }
        var storingFirst = addresses.AddAsync([new DepositAddress(0, "base", firstAddress, first.Id, 0, "key")], CancellationToken.None);
        await UntilAsync(async () => await WaitingForLocksAsync() >= 1, "the first address waiting");
        var storingSecond = addresses.AddAsync([new DepositAddress(0, "base", secondAddress, second.Id, 1, "key")], CancellationToken.None);
        // The second either commits (its id above the first's) or waits for the first: the book is read in between.
        await UntilAsync(async () => storingSecond.IsCompleted || await WaitingForLocksAsync() >= 2, "the second address stored or waiting");
        await book.RefreshAsync(CancellationToken.None);
        await hold.RollbackAsync();
        await Task.WhenAll(storingFirst, storingSecond);
        await book.RefreshAsync(CancellationToken.None);

        Assert.Equal(first.Id, book.OwnerOf(firstAddress));
        Assert.Equal(second.Id, book.OwnerOf(secondAddress));
    }
}
