using System.Data.Common;

namespace Aisa.Settlement.Storage.Deposits;

/// <param name="KeyId">Which key derived the address (a hash of the xpub); null for addresses stored before keys were named.</param>
public sealed record DepositAddress(long Id, string Rail, string Address, long AgentId, long DerivationIndex, string? KeyId)
{
    /// <summary>The derivation index of an address no key derived: one a top-up request made for itself (a Solana Pay reference).</summary>
    public const long RequestIndex = -1;

    /// <summary>The key id of such an address.</summary>
    public const string RequestKey = "request";
}

/// <summary>How many of a rail's addresses one key derived; <see cref="KeyId"/> null for those stored before keys were named.</summary>
public sealed record DepositAddressKey(string? KeyId, long Addresses, long NewestId);

/// <summary>
/// The addresses agents pay to. An agent gets one derivation index k, the same on every chain, the first time it
/// needs an address; each chain then watches the address its xpub derives at k — and keeps watching every address it
/// ever handed out, also those of a key it no longer has.
/// </summary>
public sealed class DepositAddressStore(SqlDatabase database, TimeProvider clock)
{
    /// <summary>The agent's derivation index, given now (the next free one) if it has none.</summary>
    public async Task<long> DerivationIndexAsync(long agentId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // Two instances may pick the same next index at once: one wins, the other tries again with the next.
        // ("WHERE true" tells SQLite that ON CONFLICT belongs to the INSERT, not to a join of the SELECT.)
        for (var attempt = 0; ; attempt++)
        {
            await using (var find = connection.CreateCommand(null, "SELECT derivation_index FROM agent_derivation_indexes WHERE agent_id = @agent", ("agent", agentId)))
            {
                if (await find.ExecuteScalarAsync(cancellationToken) is { } found and not DBNull)
                {
                    return Convert.ToInt64(found, System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            if (attempt == 20)
            {
                throw new InvalidOperationException($"No derivation index could be given to agent {agentId}.");
            }
            await connection.ExecuteAsync(null,
                """
                INSERT INTO agent_derivation_indexes (agent_id, derivation_index, created_at)
                SELECT @agent, COALESCE(MAX(derivation_index) + 1, 0), @now FROM agent_derivation_indexes WHERE true
                ON CONFLICT DO NOTHING
                """,
                cancellationToken, ("agent", agentId), ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()));
        }
    }

    /// <summary>Agents with a derivation index but no address on this rail yet (a chain configured later).</summary>
    public async Task<IReadOnlyList<(long AgentId, long DerivationIndex)>> WithoutAddressAsync(string rail, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            """
            SELECT i.agent_id, i.derivation_index FROM agent_derivation_indexes i
            WHERE NOT EXISTS (SELECT 1 FROM deposit_addresses a WHERE a.rail = @rail AND a.agent_id = i.agent_id AND a.derivation_index >= 0)
            ORDER BY i.derivation_index
            """, ("rail", rail));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var missing = new List<(long, long)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            missing.Add((reader.GetInt64(0), reader.GetInt64(1)));
        }
        return missing;
    }

    /// <summary>
    /// Stores addresses (as the rail writes them: lower-case hex, base58); one already there stays as it is. Returns the agent each address belongs to as
    /// stored, so a caller never hands out an address that fills another agent's wallet.
    /// </summary>
    public async Task<IReadOnlyList<long>> AddAsync(IReadOnlyList<DepositAddress> addresses, CancellationToken cancellationToken)
    {
        if (addresses.Count == 0)
        {
            return [];
        }
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        // Nearly always every address is stored already (an agent asks for its addresses again): read, and write nothing.
        var stored = new List<long>(addresses.Count);
        await using (var known = connection.CreateCommand(null, "SELECT agent_id FROM deposit_addresses WHERE rail = @rail AND address = @address", ("rail", ""), ("address", "")))
        {
            foreach (var address in addresses)
            {
                known.Parameters["rail"].Value = address.Rail;
                known.Parameters["address"].Value = address.Address;
                var storedOwner = await known.ExecuteScalarAsync(cancellationToken);
                if (storedOwner is null or DBNull)
                {
                    break;
                }
                stored.Add(Convert.ToInt64(storedOwner, System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        if (stored.Count == addresses.Count)
        {
            return stored;
        }
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        // Taken before any id is drawn and held until commit: new addresses become visible in the order of their ids, so a
        // watcher that loads "after the last id it saw" cannot miss one. (On PostgreSQL ids are otherwise visible in commit order.)
        await database.LockUntilCommitAsync(connection, transaction, SqlDatabase.Locks.DepositAddresses, cancellationToken);
        await using var insert = connection.CreateCommand(transaction,
            """
            INSERT INTO deposit_addresses (rail, address, agent_id, derivation_index, key_id, created_at)
            VALUES (@rail, @address, @agent, @index, @key, @now) ON CONFLICT DO NOTHING
            """,
            ("rail", ""), ("address", ""), ("agent", 0L), ("index", 0L), ("key", null), ("now", now));
        await using var owner = connection.CreateCommand(transaction, "SELECT agent_id FROM deposit_addresses WHERE rail = @rail AND address = @address",
            ("rail", ""), ("address", ""));
        var owners = new List<long>(addresses.Count);
        foreach (var address in addresses)
        {
            insert.Parameters["rail"].Value = address.Rail;
            insert.Parameters["address"].Value = address.Address;
            insert.Parameters["agent"].Value = address.AgentId;
            insert.Parameters["index"].Value = address.DerivationIndex;
            insert.Parameters["key"].Value = (object?)address.KeyId ?? DBNull.Value;
            await insert.ExecuteNonQueryAsync(cancellationToken);
            owner.Parameters["rail"].Value = address.Rail;
            owner.Parameters["address"].Value = address.Address;
            owners.Add(Convert.ToInt64(await owner.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture));
        }
        await transaction.CommitAsync(cancellationToken);
        return owners;
    }

    /// <summary>The keys that derived the rail's addresses, with how many each derived (requests' own addresses are no key's).</summary>
    public async Task<IReadOnlyList<DepositAddressKey>> KeysAsync(string rail, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "SELECT key_id, COUNT(*), MAX(id) FROM deposit_addresses WHERE rail = @rail AND derivation_index >= 0 GROUP BY key_id ORDER BY MAX(id)", ("rail", rail));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var keys = new List<DepositAddressKey>();
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(new DepositAddressKey(reader.GetNullableString(0), Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture), reader.GetInt64(2)));
        }
        return keys;
    }

    public async Task<DepositAddress?> FindAsync(long id, CancellationToken cancellationToken) =>
        (await ListAsync("id = @id", cancellationToken, ("id", id))).FirstOrDefault();

    /// <summary>Up to <paramref name="limit"/> of the rail's addresses stored after <paramref name="afterId"/>: a watcher loads only what is new.</summary>
    public Task<IReadOnlyList<DepositAddress>> AfterAsync(string rail, long afterId, int limit, CancellationToken cancellationToken) =>
        ListAsync("rail = @rail AND id > @after ORDER BY id LIMIT @limit", cancellationToken, ("rail", rail), ("after", afterId), ("limit", limit));

    private async Task<IReadOnlyList<DepositAddress>> ListAsync(string condition, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null, $"SELECT id, rail, address, agent_id, derivation_index, key_id FROM deposit_addresses WHERE {condition}", parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var addresses = new List<DepositAddress>();
        while (await reader.ReadAsync(cancellationToken))
        {
            addresses.Add(new DepositAddress(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetNullableString(5)));
        }
        return addresses;
    }
}
