using System.Globalization;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Storage.Operations;

public sealed record DepositTally(string Rail, string State, long Count, Micros Amount);

public sealed record ChargeMinute(DateTimeOffset Minute, long Charges, Micros Amount);

public sealed record LedgerEntry(long Id, string Key, string DebitAccount, string CreditAccount, Micros Amount, string Kind, string? Reference, DateTimeOffset CreatedAt);

public sealed record AgentSummary(long Id, string Email, string? Name, string? CrawlerType, Micros Balance, DateTimeOffset CreatedAt);

public sealed record PublisherSummary(long Id, string Email, string Domain, string? Name, DateTimeOffset CreatedAt);

/// <summary>The read-only views an operator looks at: tallies, recent movements, agents and publishers.</summary>
public sealed class OperationsStore(SqlDatabase database)
{
    public async Task<IReadOnlyList<DepositTally>> DepositTalliesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "SELECT rail, state, COUNT(*), COALESCE(SUM(COALESCE(amount, requested_amount, 0)), 0) FROM deposits GROUP BY rail, state ORDER BY rail, state");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var tallies = new List<DepositTally>();
        while (await reader.ReadAsync(cancellationToken))
        {
            tallies.Add(new DepositTally(reader.GetString(0), reader.GetString(1), Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture),
                new Micros(Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture))));
        }
        return tallies;
    }

    /// <summary>Deposits credited since the time given: how many, and how much.</summary>
    public async Task<(long Count, Micros Amount)> CreditedSinceAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM deposits WHERE state = 'credited' AND updated_at >= @since", ("since", since.ToUnixTimeMilliseconds()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture), new Micros(Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture)));
    }

    /// <summary>Charges per minute since the time given, summed over the instances, oldest first; minutes without a charge are left out.</summary>
    public async Task<IReadOnlyList<ChargeMinute>> ChargesPerMinuteAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "SELECT minute, SUM(charges), SUM(amount) FROM charge_minutes WHERE minute >= @since GROUP BY minute ORDER BY minute",
            ("since", since.ToUnixTimeMilliseconds() / 60_000 * 60_000));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var minutes = new List<ChargeMinute>();
        while (await reader.ReadAsync(cancellationToken))
        {
            minutes.Add(new ChargeMinute(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture),
                new Micros(Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture))));
        }
        return minutes;
    }

    /// <summary>An instance's counts of these minutes, as they stand now (a later write of a minute replaces it).</summary>
    public async Task RecordChargeMinutesAsync(string instance, IReadOnlyList<ChargeMinute> minutes, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        await using var command = connection.CreateCommand(transaction,
            """
            INSERT INTO charge_minutes (minute, instance, charges, amount) VALUES (@minute, @instance, @charges, @amount)
            ON CONFLICT (minute, instance) DO UPDATE SET charges = excluded.charges, amount = excluded.amount
            """,
            ("minute", 0L), ("instance", instance), ("charges", 0L), ("amount", 0L));
        foreach (var minute in minutes)
        {
            command.Parameters[0].Value = minute.Minute.ToUnixTimeMilliseconds();
            command.Parameters[2].Value = minute.Charges;
            command.Parameters[3].Value = minute.Amount.Value;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Deletes the chart's minutes before the time given; returns how many rows went.</summary>
    public async Task<int> PruneChargeMinutesAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null, "DELETE FROM charge_minutes WHERE minute < @before", cancellationToken, ("before", before.ToUnixTimeMilliseconds()));
    }

    public async Task<IReadOnlyList<LedgerEntry>> RecentTransfersAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            """
            SELECT t.id, t.idempotency_key, d.code, c.code, t.amount, t.kind, t.reference, t.created_at
            FROM (SELECT * FROM transfers ORDER BY id DESC LIMIT @limit) AS t
            JOIN accounts d ON d.id = t.debit_account_id
            JOIN accounts c ON c.id = t.credit_account_id
            ORDER BY t.id DESC
            """, ("limit", limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<LedgerEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new LedgerEntry(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), new Micros(reader.GetInt64(4)),
                reader.GetString(5), reader.GetNullableString(6), reader.GetTimestamp(7)));
        }
        return entries;
    }

    /// <summary>Agents whose email or name contains the text (all when empty), newest first, with their wallet balance.</summary>
    public async Task<IReadOnlyList<AgentSummary>> AgentsAsync(string? search, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            """
            SELECT a.id, a.email, a.name, a.crawler_type, w.balance, a.created_at FROM agents a JOIN accounts w ON w.id = a.wallet_account_id
            WHERE @search = '' OR lower(a.email) LIKE @pattern OR lower(COALESCE(a.name, '')) LIKE @pattern OR CAST(a.id AS TEXT) = @search
            ORDER BY a.id DESC LIMIT @limit
            """, ("search", search ?? ""), ("pattern", Pattern(search)), ("limit", limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var agents = new List<AgentSummary>();
        while (await reader.ReadAsync(cancellationToken))
        {
            agents.Add(new AgentSummary(reader.GetInt64(0), reader.GetString(1), reader.GetNullableString(2), reader.GetNullableString(3), new Micros(reader.GetInt64(4)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
        }
        return agents;
    }

    public async Task<IReadOnlyList<PublisherSummary>> PublishersAsync(string? search, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            """
            SELECT id, email, domain, name, created_at FROM publishers
            WHERE @search = '' OR lower(email) LIKE @pattern OR lower(domain) LIKE @pattern OR lower(COALESCE(name, '')) LIKE @pattern
            ORDER BY id DESC LIMIT @limit
            """, ("search", search ?? ""), ("pattern", Pattern(search)), ("limit", limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var publishers = new List<PublisherSummary>();
        while (await reader.ReadAsync(cancellationToken))
        {
            publishers.Add(new PublisherSummary(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetNullableString(3),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
        }
        return publishers;
    }

    // LIKE wildcards typed by the operator are matched literally only as far as both databases agree: they are dropped.
    private static string Pattern(string? search) =>
        "%" + (search ?? "").ToLowerInvariant().Replace("%", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal) + "%";
}
