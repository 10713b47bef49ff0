using System.Data.Common;
using System.Globalization;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Storage.Deposits;

public sealed record DepositTransition(long Id, long DepositId, DepositState? From, DepositState To, int Confirmations, string Evidence, DateTimeOffset CreatedAt);

public sealed record DepositFilter(string? Rail = null, DepositState? State = null, long? AgentId = null, long? BeforeId = null, int Limit = 50);

/// <summary>
/// Deposits and every move of their state machine, with its evidence. A move is a conditional update on the state
/// it starts from, so two passes that race apply it once; money moves only in the ledger, keyed by the payment.
/// </summary>
public sealed class DepositStore(SqlDatabase database, TimeProvider clock)
{
    private const string Columns =
        "id, rail, agent_id, state, requested_amount, amount, external_id, tx_hash, log_index, address, token, token_amount, " +
        "block_number, block_hash, confirmations, confirmations_required, ledger_key, expires_at, created_at, updated_at, log_position";

    public async Task<Deposit> CreatePendingAsync(string rail, long agentId, Micros requested, string? address, int confirmationsRequired, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        await using var command = connection.CreateCommand(transaction,
            $"""
            INSERT INTO deposits (rail, agent_id, state, requested_amount, address, confirmations, confirmations_required, expires_at, created_at, updated_at)
            VALUES (@rail, @agent, @state, @requested, @address, 0, @required, @expires, @now, @now)
            RETURNING {Columns}
            """,
            ("rail", rail), ("agent", agentId), ("state", DepositState.Pending.ToWire()), ("requested", requested.Value), ("address", address),
            ("required", confirmationsRequired), ("expires", expiresAt.ToUnixTimeMilliseconds()), ("now", now));
        var deposit = (await ReadAllAsync(command, cancellationToken))[0];
        await InsertTransitionAsync(connection, transaction, deposit.Id, null, DepositState.Pending, 0, Evidence.Of(("requestedAmount", requested.ToString()), ("address", address)), now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return deposit;
    }

    public Task<Deposit?> FindAsync(long id, CancellationToken cancellationToken) =>
        FindOneAsync("id = @value", id, null, cancellationToken);

    public Task<Deposit?> FindByExternalIdAsync(string rail, string externalId, CancellationToken cancellationToken) =>
        FindOneAsync("rail = @rail AND external_id = @value", externalId, rail, cancellationToken);

    /// <summary>Deposits of a rail the watcher follows on chain: detected or confirming.</summary>
    public Task<IReadOnlyList<Deposit>> FollowedAsync(string rail, CancellationToken cancellationToken) =>
        ListWhereAsync("rail = @rail AND state IN ('detected', 'confirming') AND external_id IS NOT NULL ORDER BY id", cancellationToken, ("rail", rail));

    /// <summary>Every open deposit of every rail, and those that moved since <paramref name="since"/> (credited just now, say), newest first.</summary>
    public Task<IReadOnlyList<Deposit>> OpenOrMovedSinceAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) =>
        ListWhereAsync("(state IN ('pending', 'detected', 'confirming', 'reorged') OR updated_at >= @since) ORDER BY id DESC LIMIT @limit", cancellationToken,
            ("since", since.ToUnixTimeMilliseconds()), ("limit", limit));

    public Task<IReadOnlyList<Deposit>> ListAsync(DepositFilter filter, CancellationToken cancellationToken)
    {
        var (sql, parameters) = new PageQuery(filter.BeforeId, filter.Limit)
            .Equal("rail", filter.Rail).Equal("state", filter.State?.ToWire()).Equal("agent_id", filter.AgentId).Build();
        return ListWhereAsync(sql, cancellationToken, parameters);
    }

    /// <summary>The evidence of each deposit's latest transition (what was last learned about it), by deposit id.</summary>
    public async Task<IReadOnlyDictionary<long, string>> LatestEvidenceAsync(IReadOnlyCollection<long> depositIds, CancellationToken cancellationToken)
    {
        var latest = new Dictionary<long, string>();
        if (depositIds.Count == 0)
        {
            return latest;
        }
        var parameters = depositIds.Select((id, i) => ($"d{i}", (object?)id)).ToArray();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            $"""
            SELECT deposit_id, evidence FROM deposit_transitions
            WHERE id IN (SELECT MAX(id) FROM deposit_transitions WHERE deposit_id IN ({string.Join(", ", parameters.Select(p => "@" + p.Item1))}) GROUP BY deposit_id)
            """,
            parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            latest[reader.GetInt64(0)] = reader.GetString(1);
        }
        return latest;
    }

    public async Task<IReadOnlyList<DepositTransition>> TransitionsAsync(long depositId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "SELECT id, deposit_id, from_state, to_state, confirmations, evidence, created_at FROM deposit_transitions WHERE deposit_id = @id ORDER BY id",
            ("id", depositId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var transitions = new List<DepositTransition>();
        while (await reader.ReadAsync(cancellationToken))
        {
            transitions.Add(new DepositTransition(
                reader.GetInt64(0), reader.GetInt64(1),
                reader.IsDBNull(2) ? null : DepositStates.Parse(reader.GetString(2)),
                DepositStates.Parse(reader.GetString(3)), reader.GetInt32(4), reader.GetString(5),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6))));
        }
        return transitions;
    }

    /// <summary>
    /// Records a payment seen for the first time: one that can be credited fills the agent's oldest open request on
    /// the rail (pending, not expired); any other becomes a deposit of its own. Returns the deposit; an existing one
    /// for this payment as it is.
    /// </summary>
    public async Task<Deposit> RecordPaymentAsync(string rail, DepositPayment payment, DepositState state, int confirmations, int required, string evidence, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        if ((await ListWhereAsync(connection, transaction, "rail = @rail AND external_id = @external", cancellationToken, ("rail", rail), ("external", payment.ExternalId))).FirstOrDefault() is { } known)
        {
            return known;
        }
        // The request this payment answers: the agent's oldest open one on the rail that was to be paid to the same address (a
        // request with an address of its own, a Solana Pay reference, is filled only by a payment naming it).
        var pending = state == DepositState.Failed ? null : (await ListWhereAsync(connection, transaction,
            "rail = @rail AND agent_id = @agent AND state = 'pending' AND (expires_at IS NULL OR expires_at > @now) AND (address IS NULL OR address = @address) ORDER BY id LIMIT 1",
            cancellationToken, ("rail", rail), ("agent", payment.AgentId), ("now", now), ("address", payment.Address))).FirstOrDefault();
        var values = new (string, object?)[]
        {
            ("rail", rail), ("agent", payment.AgentId), ("state", state.ToWire()), ("amount", payment.Amount.Value), ("external", payment.ExternalId),
            ("tx", payment.TransactionHash), ("logIndex", payment.LogIndex), ("address", payment.Address), ("token", payment.Token),
            ("tokenAmount", payment.TokenAmount), ("blockNumber", payment.BlockNumber), ("blockHash", payment.BlockHash),
            ("confirmations", confirmations), ("required", required), ("now", now), ("position", payment.LogPosition),
        };
        if (pending is not null)
        {
            values = [.. values, ("pending", pending.Id)];
        }
        await using var command = connection.CreateCommand(transaction, pending is null
            ? $"""
              INSERT INTO deposits (rail, agent_id, state, amount, external_id, tx_hash, log_index, log_position, address, token, token_amount, block_number, block_hash,
                                    confirmations, confirmations_required, created_at, updated_at)
              VALUES (@rail, @agent, @state, @amount, @external, @tx, @logIndex, @position, @address, @token, @tokenAmount, @blockNumber, @blockHash,
                      @confirmations, @required, @now, @now)
              RETURNING {Columns}
              """
            : $"""
              UPDATE deposits SET state = @state, amount = @amount, external_id = @external, tx_hash = @tx, log_index = @logIndex, log_position = @position, address = @address,
                                  token = @token, token_amount = @tokenAmount, block_number = @blockNumber, block_hash = @blockHash,
                                  confirmations = @confirmations, confirmations_required = @required, updated_at = @now
              WHERE id = @pending AND state = 'pending'
              RETURNING {Columns}
              """, values);
        var deposit = (await ReadAllAsync(command, cancellationToken))[0];
        await InsertTransitionAsync(connection, transaction, deposit.Id, pending is null ? null : DepositState.Pending, state, confirmations, evidence, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return deposit;
    }

    /// <summary>
    /// A deposit recorded before payments were named by their place in their transaction (it has a log index and no
    /// position), for the payment just seen: the same log (same block and index), else the one deposit of that
    /// transaction to the same address, token and amount (the transaction mined again elsewhere). Found, it is renamed
    /// <paramref name="payment"/>'s external id and returned, so it is never recorded, nor credited, a second time.
    /// Ambiguous (several could be it) when no single one can be told: the caller records nothing and says so.
    /// </summary>
    public async Task<(Deposit? Adopted, bool Ambiguous)> AdoptEarlierNamedAsync(string rail, DepositPayment payment, CancellationToken cancellationToken)
    {
        // Read first, outside a write transaction: nearly every new payment has no such deposit, and pays one indexed read.
        var candidates = await ListWhereAsync(
            "rail = @rail AND tx_hash = @tx AND log_index IS NOT NULL AND log_position IS NULL AND external_id IS NOT NULL ORDER BY id", cancellationToken,
            ("rail", rail), ("tx", payment.TransactionHash));
        var exact = candidates.Where(d => d.LogIndex == payment.LogIndex && d.BlockHash == payment.BlockHash).ToList();
        var same = exact.Count == 1 ? exact : candidates.Where(d => d.Address == payment.Address && d.Token == payment.Token && d.TokenAmount == payment.TokenAmount).ToList();
        if (same.Count != 1)
        {
            return (null, same.Count > 1);
        }
        var adopted = same[0];
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        // Conditional: of two passes adopting it at once, one renames it; the other finds it by its new name next time.
        if (await connection.ExecuteAsync(transaction,
            "UPDATE deposits SET external_id = @external, log_position = @position, updated_at = @now WHERE id = @id AND log_position IS NULL",
            cancellationToken, ("external", payment.ExternalId), ("position", payment.LogPosition), ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()), ("id", adopted.Id)) == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return await FindByExternalIdAsync(rail, payment.ExternalId, cancellationToken) is { } renamedMeanwhile ? (renamedMeanwhile, false) : (null, true);
        }
        await InsertTransitionAsync(connection, transaction, adopted.Id, adopted.State, adopted.State, adopted.Confirmations,
            Evidence.Of(("renamed", adopted.ExternalId), ("to", payment.ExternalId), ("why", "payments are named by their transaction and place among its logs")),
            clock.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (adopted with { ExternalId = payment.ExternalId, LogPosition = payment.LogPosition }, false);
    }

    /// <summary>
    /// Moves a deposit from the state and confirmations it was read with; false (and nothing written) when another
    /// pass moved it first. A block given replaces the deposit's block and log index (a transfer mined again elsewhere).
    /// </summary>
    public async Task<bool> MoveAsync(Deposit deposit, DepositState to, int confirmations, string evidence, CancellationToken cancellationToken,
        (long Number, string Hash, long? LogIndex)? block = null, string? ledgerKey = null, Micros? amount = null)
    {
        if (!DepositStates.CanMove(deposit.State, to))
        {
            throw new InvalidOperationException($"Deposit {deposit.Id} cannot move from {deposit.State.ToWire()} to {to.ToWire()}.");
        }
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        var moved = await connection.ExecuteAsync(transaction,
            """
            UPDATE deposits SET state = @to, confirmations = @confirmations, block_number = COALESCE(@blockNumber, block_number),
                                block_hash = COALESCE(@blockHash, block_hash), log_index = COALESCE(@logIndex, log_index), ledger_key = COALESCE(@ledgerKey, ledger_key),
                                amount = COALESCE(@amount, amount), updated_at = @now
            WHERE id = @id AND state = @from AND confirmations = @fromConfirmations
            """,
            cancellationToken, ("to", to.ToWire()), ("confirmations", confirmations), ("blockNumber", block?.Number), ("blockHash", block?.Hash), ("logIndex", block?.LogIndex),
            ("ledgerKey", ledgerKey), ("amount", amount?.Value), ("now", now), ("id", deposit.Id), ("from", deposit.State.ToWire()), ("fromConfirmations", deposit.Confirmations));
        if (moved == 0)
        {
            return false;
        }
        await InsertTransitionAsync(connection, transaction, deposit.Id, deposit.State, to, confirmations, evidence, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Keeps something learned about a deposit that does not move it (a failed look-up): a transition to the state it is in.</summary>
    public async Task NoteAsync(Deposit deposit, string evidence, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        await InsertTransitionAsync(connection, transaction, deposit.Id, deposit.State, deposit.State, deposit.Confirmations, evidence, clock.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Names a pending request by the rail's id for it (a Checkout Session), and where the rail keeps it if it says, once the rail has made it.</summary>
    public async Task AttachAsync(long depositId, string externalId, string? address, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "UPDATE deposits SET external_id = @external, address = COALESCE(@address, address), updated_at = @now WHERE id = @id AND external_id IS NULL",
            cancellationToken, ("external", externalId), ("address", address), ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()), ("id", depositId));
    }

    /// <summary>Pending requests of a rail already named by the rail (their payment may have happened without us hearing).</summary>
    public Task<IReadOnlyList<Deposit>> PendingAsync(string rail, CancellationToken cancellationToken) =>
        ListWhereAsync("rail = @rail AND state = 'pending' AND external_id IS NOT NULL ORDER BY id", cancellationToken, ("rail", rail));

    /// <summary>Requests on the rail that nobody paid in time move to expired; returns how many.</summary>
    public async Task<int> ExpirePendingAsync(string rail, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var expired = 0;
        foreach (var deposit in await ListWhereAsync("rail = @rail AND state = 'pending' AND expires_at <= @now ORDER BY id", cancellationToken, ("rail", rail), ("now", now)))
        {
            if (await MoveAsync(deposit, DepositState.Expired, 0, Evidence.Of(("expiresAt", deposit.ExpiresAt?.ToString("O", CultureInfo.InvariantCulture))), cancellationToken))
            {
                expired++;
            }
        }
        return expired;
    }

    /// <summary>
    /// Money that arrived on the rail for no deposit of ours (already booked to suspense under <paramref name="ledgerKey"/>):
    /// recorded as an unattributed deposit for an operator to assign. Returns it; an existing one for this payment as it is.
    /// </summary>
    public async Task<Deposit> RecordUnattributedAsync(string rail, string externalId, Micros amount, string ledgerKey, string evidence, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        if ((await ListWhereAsync(connection, transaction, "rail = @rail AND external_id = @external", cancellationToken, ("rail", rail), ("external", externalId))).FirstOrDefault() is { } known)
        {
            return known;
        }
        await using var command = connection.CreateCommand(transaction,
            $"""
            INSERT INTO deposits (rail, agent_id, state, amount, external_id, confirmations, confirmations_required, ledger_key, created_at, updated_at)
            VALUES (@rail, NULL, @state, @amount, @external, 1, 1, @ledgerKey, @now, @now)
            RETURNING {Columns}
            """,
            ("rail", rail), ("state", DepositState.Unattributed.ToWire()), ("amount", amount.Value), ("external", externalId), ("ledgerKey", ledgerKey), ("now", now));
        var deposit = (await ReadAllAsync(command, cancellationToken))[0];
        await InsertTransitionAsync(connection, transaction, deposit.Id, null, DepositState.Unattributed, 1, evidence, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return deposit;
    }

    /// <summary>An unattributed deposit given to an agent and credited (its ledger transfer posted already); false if it is no longer unattributed.</summary>
    public async Task<bool> AssignAsync(Deposit deposit, long agentId, string ledgerKey, string evidence, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        var moved = await connection.ExecuteAsync(transaction,
            "UPDATE deposits SET agent_id = @agent, state = @to, ledger_key = @ledgerKey, updated_at = @now WHERE id = @id AND state = @from AND agent_id IS NULL",
            cancellationToken, ("agent", agentId), ("to", DepositState.Credited.ToWire()), ("ledgerKey", ledgerKey), ("now", now), ("id", deposit.Id),
            ("from", DepositState.Unattributed.ToWire()));
        if (moved == 0)
        {
            return false;
        }
        await InsertTransitionAsync(connection, transaction, deposit.Id, DepositState.Unattributed, DepositState.Credited, deposit.Confirmations, evidence, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<string?> CursorAsync(string rail, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null, "SELECT position FROM rail_cursors WHERE rail = @rail", ("rail", rail));
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    /// <summary>
    /// Moves the rail's cursor, if <paramref name="fence"/> still holds the watcher's lease; false (and nothing written)
    /// when another pass has taken it since: only the current holder moves a cursor, so it never goes backwards.
    /// </summary>
    public async Task<bool> SaveCursorAsync(string rail, string position, long head, Jobs.LeaseFence fence, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null,
            """
            INSERT INTO rail_cursors (rail, position, head, updated_at)
            SELECT @rail, @position, @head, @now WHERE EXISTS (SELECT 1 FROM job_leases WHERE job = @job AND owner = @owner AND token = @token)
            ON CONFLICT (rail) DO UPDATE SET position = excluded.position, head = excluded.head, updated_at = excluded.updated_at
            """,
            cancellationToken, ("rail", rail), ("position", position), ("head", head), ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()),
            ("job", fence.Job), ("owner", fence.Owner), ("token", fence.Token)) == 1;
    }

    private async Task InsertTransitionAsync(DbConnection connection, DbTransaction transaction, long depositId, DepositState? from, DepositState to, int confirmations, string evidence, long now, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(transaction,
            "INSERT INTO deposit_transitions (deposit_id, from_state, to_state, confirmations, evidence, created_at) VALUES (@deposit, @from, @to, @confirmations, @evidence, @now)",
            cancellationToken, ("deposit", depositId), ("from", from?.ToWire()), ("to", to.ToWire()), ("confirmations", confirmations), ("evidence", evidence), ("now", now));

    private async Task<Deposit?> FindOneAsync(string condition, object value, string? rail, CancellationToken cancellationToken) =>
        (await ListWhereAsync(condition, cancellationToken, rail is null ? [("value", value)] : [("value", value), ("rail", rail)])).FirstOrDefault();

    private async Task<IReadOnlyList<Deposit>> ListWhereAsync(string condition, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await ListWhereAsync(connection, null, condition, cancellationToken, parameters);
    }

    private static async Task<IReadOnlyList<Deposit>> ListWhereAsync(DbConnection connection, DbTransaction? transaction, string condition, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var command = connection.CreateCommand(transaction, $"SELECT {Columns} FROM deposits WHERE {condition}", parameters);
        return await ReadAllAsync(command, cancellationToken);
    }

    private static async Task<List<Deposit>> ReadAllAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var deposits = new List<Deposit>();
        while (await reader.ReadAsync(cancellationToken))
        {
            deposits.Add(new Deposit(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetNullableInt64(2),
                DepositStates.Parse(reader.GetString(3)),
                reader.GetNullableInt64(4) is { } requested ? new Micros(requested) : null,
                reader.GetNullableInt64(5) is { } amount ? new Micros(amount) : null,
                reader.GetNullableString(6),
                reader.GetNullableString(7),
                reader.GetNullableInt64(8),
                reader.GetNullableString(9),
                reader.GetNullableString(10),
                reader.GetNullableString(11),
                reader.GetNullableInt64(12),
                reader.GetNullableString(13),
                reader.GetInt32(14),
                reader.GetInt32(15),
                reader.GetNullableString(16),
                reader.GetNullableInt64(17) is { } expires ? DateTimeOffset.FromUnixTimeMilliseconds(expires) : null,
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(18)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(19)),
                reader.GetNullableInt64(20)));
        }
        return deposits;
    }
}
