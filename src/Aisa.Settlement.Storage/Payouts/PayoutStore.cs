using System.Data.Common;
using Aisa.Settlement.Money;
using Aisa.Settlement.Payouts;

namespace Aisa.Settlement.Storage.Payouts;

public sealed record PayoutTransition(long Id, long PayoutId, PayoutState? From, PayoutState To, string Evidence, DateTimeOffset CreatedAt);

public sealed record PayoutFilter(long? PublisherId = null, string? Rail = null, PayoutState? State = null, long? BeforeId = null, int Limit = 50);

/// <summary>A publisher's money by where it stands: paid out and confirmed, or in flight (an open payout).</summary>
public sealed record PayoutTotals(Micros InFlight, Micros Paid);

/// <summary>
/// Publishers' payout settings, and payouts with every move of their state machine. A move is a conditional update on the
/// state it starts from, so two passes (or a pass and an operator) that race apply it once; money moves only in the ledger.
/// </summary>
public sealed class PayoutStore(SqlDatabase database, TimeProvider clock)
{
    private const string Columns =
        "id, publisher_id, rail, destination, amount, state, prepared, reference, confirmations, confirmations_required, evidence, created_at, updated_at";

    private static readonly string OpenStates = string.Join(", ", PayoutStates.Open.Select(s => $"'{s.ToWire()}'"));

    public async Task<PayoutSettings?> SettingsAsync(long publisherId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "SELECT publisher_id, rail, destination, minimum_amount, updated_at FROM payout_settings WHERE publisher_id = @publisher", ("publisher", publisherId));
        return (await ReadSettingsAsync(command, cancellationToken)).FirstOrDefault();
    }

    /// <summary>Every publisher's settings, for a payout run.</summary>
    public async Task<IReadOnlyList<PayoutSettings>> AllSettingsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null, "SELECT publisher_id, rail, destination, minimum_amount, updated_at FROM payout_settings ORDER BY publisher_id");
        return await ReadSettingsAsync(command, cancellationToken);
    }

    public async Task<PayoutSettings> SaveSettingsAsync(long publisherId, string rail, string destination, Micros minimum, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            """
            INSERT INTO payout_settings (publisher_id, rail, destination, minimum_amount, updated_at) VALUES (@publisher, @rail, @destination, @minimum, @now)
            ON CONFLICT (publisher_id) DO UPDATE SET rail = excluded.rail, destination = excluded.destination, minimum_amount = excluded.minimum_amount, updated_at = excluded.updated_at
            """,
            cancellationToken, ("publisher", publisherId), ("rail", rail), ("destination", destination), ("minimum", minimum.Value), ("now", now.ToUnixTimeMilliseconds()));
        return new PayoutSettings(publisherId, rail, destination, minimum, DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds()));
    }

    /// <summary>
    /// Records a payout of <paramref name="amount"/>, unless the publisher has one open already (on any instance): then null,
    /// and nothing is written. The money is moved in the ledger by the caller, under the payout's key, afterwards.
    /// </summary>
    public async Task<Payout?> CreateAsync(PayoutSettings settings, Micros amount, PayoutState state, string evidence, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        Payout payout;
        try
        {
            await using var command = connection.CreateCommand(transaction,
                $"""
                INSERT INTO payouts (publisher_id, rail, destination, amount, state, evidence, created_at, updated_at)
                VALUES (@publisher, @rail, @destination, @amount, @state, @evidence, @now, @now)
                RETURNING {Columns}
                """,
                ("publisher", settings.PublisherId), ("rail", settings.Rail), ("destination", settings.Destination), ("amount", amount.Value), ("state", state.ToWire()),
                ("evidence", evidence), ("now", now));
            payout = (await ReadAllAsync(command, cancellationToken))[0];
        }
        catch (DbException e) when (database.IsUniqueViolation(e))
        {
            return null;
        }
        await InsertTransitionAsync(connection, transaction, payout.Id, null, state, evidence, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return payout;
    }

    public async Task<Payout?> FindAsync(long id, CancellationToken cancellationToken) =>
        (await ListWhereAsync("id = @id", cancellationToken, ("id", id))).FirstOrDefault();

    /// <summary>The open payouts of a rail, oldest first: the order they are sent in.</summary>
    public Task<IReadOnlyList<Payout>> OpenAsync(string rail, CancellationToken cancellationToken) =>
        ListWhereAsync($"rail = @rail AND state IN ({OpenStates}) ORDER BY id", cancellationToken, ("rail", rail));

    /// <summary>Whether the publisher has a payout in flight.</summary>
    public async Task<bool> HasOpenAsync(long publisherId, CancellationToken cancellationToken) =>
        (await ListWhereAsync($"publisher_id = @publisher AND state IN ({OpenStates})", cancellationToken, ("publisher", publisherId))).Count > 0;

    public Task<IReadOnlyList<Payout>> ListAsync(PayoutFilter filter, CancellationToken cancellationToken)
    {
        var (sql, parameters) = new PageQuery(filter.BeforeId, filter.Limit)
            .Equal("publisher_id", filter.PublisherId).Equal("rail", filter.Rail).Equal("state", filter.State?.ToWire()).Build();
        return ListWhereAsync(sql, cancellationToken, parameters);
    }

    public async Task<PayoutTotals> TotalsAsync(long publisherId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            $"""
            SELECT COALESCE(SUM(CASE WHEN state IN ({OpenStates}) THEN amount ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN state = 'confirmed' THEN amount ELSE 0 END), 0)
            FROM payouts WHERE publisher_id = @publisher
            """,
            ("publisher", publisherId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new PayoutTotals(new Micros(reader.GetInt64(0)), new Micros(reader.GetInt64(1)));
    }

    /// <summary>Every open payout of every publisher: how many, how much, and how many wait for an operator.</summary>
    public async Task<(long Count, Micros Amount, long AwaitingApproval)> OpenTotalsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            $"SELECT COUNT(*), COALESCE(SUM(amount), 0), COALESCE(SUM(CASE WHEN state = 'awaiting_approval' THEN 1 ELSE 0 END), 0) FROM payouts WHERE state IN ({OpenStates})");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), new Micros(reader.GetInt64(1)), reader.GetInt64(2));
    }

    /// <summary>
    /// Moves a payout on from the state (and prepared record) it was read in; false when another pass or an operator moved it
    /// first. <paramref name="prepared"/> replaces what the rail stored (a replacement transaction), before it is sent; with
    /// <paramref name="fence"/>, only while that pass still holds its lease (one pass at a time numbers a rail's sends).
    /// </summary>
    public async Task<bool> MoveAsync(Payout payout, PayoutState to, string evidence, CancellationToken cancellationToken,
        string? prepared = null, string? reference = null, (int Count, int Required)? confirmations = null, Jobs.LeaseFence? fence = null)
    {
        if (!PayoutStates.CanMove(payout.State, to))
        {
            throw new InvalidOperationException($"Payout {payout.Id} cannot move from {payout.State.ToWire()} to {to.ToWire()}.");
        }
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        var parameters = new List<(string, object?)>
        {
            ("to", to.ToWire()), ("prepared", prepared), ("reference", reference), ("confirmations", confirmations?.Count), ("required", confirmations?.Required),
            ("evidence", evidence), ("now", now), ("id", payout.Id), ("from", payout.State.ToWire()), ("fromPrepared", payout.Prepared),
        };
        var fenced = "";
        if (fence is not null)
        {
            fenced = " AND EXISTS (SELECT 1 FROM job_leases WHERE job = @job AND owner = @owner AND token = @token)";
            parameters.AddRange([("job", fence.Job), ("owner", fence.Owner), ("token", fence.Token)]);
        }
        var moved = await connection.ExecuteAsync(transaction,
            """
            UPDATE payouts SET state = @to, prepared = COALESCE(@prepared, prepared), reference = COALESCE(@reference, reference),
                               confirmations = COALESCE(@confirmations, confirmations), confirmations_required = COALESCE(@required, confirmations_required),
                               evidence = @evidence, updated_at = @now
            WHERE id = @id AND state = @from AND COALESCE(prepared, '') = COALESCE(@fromPrepared, '')
            """ + fenced,
            cancellationToken, [.. parameters]);
        if (moved == 0)
        {
            return false;
        }
        // A payout tracked pass after pass keeps one transition per state it reached, not one per look.
        if (to != payout.State || prepared is not null)
        {
            await InsertTransitionAsync(connection, transaction, payout.Id, payout.State, to, evidence, now, cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<IReadOnlyList<PayoutTransition>> TransitionsAsync(long payoutId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "SELECT id, payout_id, from_state, to_state, evidence, created_at FROM payout_transitions WHERE payout_id = @id ORDER BY id", ("id", payoutId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var transitions = new List<PayoutTransition>();
        while (await reader.ReadAsync(cancellationToken))
        {
            transitions.Add(new PayoutTransition(reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : PayoutStates.Parse(reader.GetString(2)),
                PayoutStates.Parse(reader.GetString(3)), reader.GetString(4), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
        }
        return transitions;
    }

    private static async Task InsertTransitionAsync(DbConnection connection, DbTransaction transaction, long payoutId, PayoutState? from, PayoutState to, string evidence, long now,
        CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(transaction,
            "INSERT INTO payout_transitions (payout_id, from_state, to_state, evidence, created_at) VALUES (@payout, @from, @to, @evidence, @now)",
            cancellationToken, ("payout", payoutId), ("from", from?.ToWire()), ("to", to.ToWire()), ("evidence", evidence), ("now", now));

    private async Task<IReadOnlyList<Payout>> ListWhereAsync(string condition, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null, $"SELECT {Columns} FROM payouts WHERE {condition}", parameters);
        return await ReadAllAsync(command, cancellationToken);
    }

    private static async Task<List<Payout>> ReadAllAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var payouts = new List<Payout>();
        while (await reader.ReadAsync(cancellationToken))
        {
            payouts.Add(new Payout(
                reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), new Micros(reader.GetInt64(4)), PayoutStates.Parse(reader.GetString(5)),
                reader.GetNullableString(6), reader.GetNullableString(7), reader.GetInt32(8), reader.GetInt32(9), reader.GetString(10),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(11)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(12))));
        }
        return payouts;
    }

    private static async Task<List<PayoutSettings>> ReadSettingsAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var settings = new List<PayoutSettings>();
        while (await reader.ReadAsync(cancellationToken))
        {
            settings.Add(new PayoutSettings(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), new Micros(reader.GetInt64(3)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
        }
        return settings;
    }
}
