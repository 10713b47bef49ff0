using System.Data.Common;
using System.Globalization;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Storage.Ledger;

/// <summary>A transfer about to be inserted, with the wallet balances it leaves behind.</summary>
public sealed record TransferRow(TransferRequest Request, Micros? DebitBalanceAfter, Micros? CreditBalanceAfter);

/// <summary>The day and the month a group commits in, as an account's spending columns name them.</summary>
public sealed record SpendingKeys(string Day, string Month);

/// <summary>A locked wallet: its balance and what it has spent on charges in the day and month.</summary>
public sealed record LockedAccount(Micros Balance, Micros DaySpent, Micros MonthSpent);

/// <summary>
/// The statements a group commit runs, one row at a time in portable SQL. That costs nothing on SQLite (in
/// process); <see cref="PostgresLedgerStatements"/> sends each as one statement over arrays, so a group of any
/// size costs the same few round trips.
/// </summary>
public class LedgerStatements
{
    /// <summary>
    /// The balances of these accounts, each locked until the transaction ends, with their spending in the day and
    /// month. The caller passes them in ascending id order: every writer locks in the same order, so writers never
    /// deadlock. The spending sits in the account's row: a writer that waited for the lock reads the version it waited for.
    /// </summary>
    public virtual async Task<Dictionary<AccountId, LockedAccount>> LockBalancesAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AccountId> accounts,
        SpendingKeys periods, CancellationToken cancellationToken)
    {
        // SQLite's BEGIN IMMEDIATE holds the only write lock already.
        var locked = new Dictionary<AccountId, LockedAccount>(accounts.Count);
        await using var command = connection.CreateCommand(transaction, $"SELECT {LockedColumns} FROM accounts a WHERE a.id = @id",
            ("id", 0L), ("day", periods.Day), ("month", periods.Month));
        foreach (var account in accounts)
        {
            command.Parameters[0].Value = account.Value;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            locked[account] = ReadLocked(reader);
        }
        return locked;
    }

    protected const string LockedColumns =
        "a.id, a.balance, CASE WHEN a.spending_day = @day THEN a.spent_day ELSE 0 END, CASE WHEN a.spending_month = @month THEN a.spent_month ELSE 0 END";

    protected static LockedAccount ReadLocked(DbDataReader reader) =>
        new(new Micros(reader.GetInt64(1)), new Micros(Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture)),
            new Micros(Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture)));

    /// <summary>Inserts the rows in order; the id of each, or null where its key exists (the unique index decides).</summary>
    public virtual async Task<long?[]> InsertTransfersAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<TransferRow> rows, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var ids = new long?[rows.Count];
        await using var command = connection.CreateCommand(transaction,
            """
            INSERT INTO transfers (idempotency_key, debit_account_id, credit_account_id, amount, kind, reference, debit_balance_after, credit_balance_after, created_at)
            VALUES (@key, @debit, @credit, @amount, @kind, @reference, @debitAfter, @creditAfter, @createdAt)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id
            """,
            ("key", ""), ("debit", 0L), ("credit", 0L), ("amount", 0L), ("kind", ""), ("reference", null), ("debitAfter", null), ("creditAfter", null),
            ("createdAt", now));
        for (var i = 0; i < rows.Count; i++)
        {
            var (request, debitAfter, creditAfter) = rows[i];
            command.Parameters[0].Value = request.IdempotencyKey;
            command.Parameters[1].Value = request.Debit.Value;
            command.Parameters[2].Value = request.Credit.Value;
            command.Parameters[3].Value = request.Amount.Value;
            command.Parameters[4].Value = request.Kind;
            command.Parameters[5].Value = (object?)request.Reference ?? DBNull.Value;
            command.Parameters[6].Value = (object?)debitAfter?.Value ?? DBNull.Value;
            command.Parameters[7].Value = (object?)creditAfter?.Value ?? DBNull.Value;
            var id = await command.ExecuteScalarAsync(cancellationToken);
            ids[i] = id is null or DBNull ? null : Convert.ToInt64(id, CultureInfo.InvariantCulture);
        }
        return ids;
    }

    /// <summary>Writes the new balances and the new spending totals of the day and month.</summary>
    public virtual async Task SetBalancesAsync(DbConnection connection, DbTransaction transaction, IReadOnlyDictionary<AccountId, Micros> balances,
        IReadOnlyDictionary<AccountId, SpendingTotals> spending, SpendingKeys periods, CancellationToken cancellationToken)
    {
        await using (var command = connection.CreateCommand(transaction, "UPDATE accounts SET balance = @balance WHERE id = @id", ("balance", 0L), ("id", 0L)))
        {
            foreach (var (account, balance) in balances)
            {
                command.Parameters[0].Value = balance.Value;
                command.Parameters[1].Value = account.Value;
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        await using (var command = connection.CreateCommand(transaction,
            "UPDATE accounts SET spending_day = @day, spent_day = @daySpent, spending_month = @month, spent_month = @monthSpent WHERE id = @id",
            ("day", periods.Day), ("daySpent", 0L), ("month", periods.Month), ("monthSpent", 0L), ("id", 0L)))
        {
            foreach (var (account, totals) in spending)
            {
                command.Parameters[1].Value = totals.Day.Value;
                command.Parameters[3].Value = totals.Month.Value;
                command.Parameters[4].Value = account.Value;
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }
    }
}

/// <summary>The same statements over arrays: one round trip each, whatever the size of the group.</summary>
public sealed class PostgresLedgerStatements : LedgerStatements
{
    public override async Task<Dictionary<AccountId, LockedAccount>> LockBalancesAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AccountId> accounts,
        SpendingKeys periods, CancellationToken cancellationToken)
    {
        var locked = new Dictionary<AccountId, LockedAccount>(accounts.Count);
        if (accounts.Count == 0)
        {
            return locked;
        }
        // ORDER BY under FOR UPDATE: the rows are locked in id order. The spending comes in the same round trip.
        await using var command = connection.CreateCommand(transaction, $"SELECT {LockedColumns} FROM accounts a WHERE a.id = ANY(@ids) ORDER BY a.id FOR UPDATE OF a",
            ("ids", accounts.Select(a => a.Value).ToArray()), ("day", periods.Day), ("month", periods.Month));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            locked[new AccountId(reader.GetInt64(0))] = ReadLocked(reader);
        }
        return locked;
    }

    public override async Task<long?[]> InsertTransfersAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<TransferRow> rows, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand(transaction,
            """
            INSERT INTO transfers (idempotency_key, debit_account_id, credit_account_id, amount, kind, reference, debit_balance_after, credit_balance_after, created_at)
            SELECT key, debit, credit, amount, kind, reference, debit_after, credit_after, @createdAt
            FROM unnest(@keys, @debits, @credits, @amounts, @kinds, @references, @debitAfters, @creditAfters)
                WITH ORDINALITY AS r (key, debit, credit, amount, kind, reference, debit_after, credit_after, n)
            ORDER BY n
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id, idempotency_key
            """,
            ("createdAt", now),
            ("keys", rows.Select(r => r.Request.IdempotencyKey).ToArray()),
            ("debits", rows.Select(r => r.Request.Debit.Value).ToArray()),
            ("credits", rows.Select(r => r.Request.Credit.Value).ToArray()),
            ("amounts", rows.Select(r => r.Request.Amount.Value).ToArray()),
            ("kinds", rows.Select(r => r.Request.Kind).ToArray()),
            ("references", rows.Select(r => r.Request.Reference).ToArray()),
            ("debitAfters", rows.Select(r => r.DebitBalanceAfter?.Value).ToArray()),
            ("creditAfters", rows.Select(r => r.CreditBalanceAfter?.Value).ToArray()));
        var idsByKey = new Dictionary<string, long>(rows.Count, StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                idsByKey[reader.GetString(1)] = reader.GetInt64(0);
            }
        }
        return rows.Select(r => idsByKey.TryGetValue(r.Request.IdempotencyKey, out var id) ? id : (long?)null).ToArray();
    }

    public override async Task SetBalancesAsync(DbConnection connection, DbTransaction transaction, IReadOnlyDictionary<AccountId, Micros> balances,
        IReadOnlyDictionary<AccountId, SpendingTotals> spending, SpendingKeys periods, CancellationToken cancellationToken)
    {
        if (balances.Count == 0)
        {
            return;
        }
        // One statement for balances and spending: an account that spent is one whose balance changed.
        await connection.ExecuteAsync(transaction,
            """
            UPDATE accounts SET balance = changed.balance,
                spending_day = CASE WHEN changed.day_spent IS NULL THEN spending_day ELSE @day END,
                spent_day = COALESCE(changed.day_spent, spent_day),
                spending_month = CASE WHEN changed.month_spent IS NULL THEN spending_month ELSE @month END,
                spent_month = COALESCE(changed.month_spent, spent_month)
            FROM unnest(@ids, @balances, @daySpent, @monthSpent) AS changed (id, balance, day_spent, month_spent)
            WHERE accounts.id = changed.id
            """,
            cancellationToken,
            ("ids", balances.Keys.Select(a => a.Value).ToArray()), ("balances", balances.Values.Select(b => b.Value).ToArray()),
            ("daySpent", balances.Keys.Select(a => spending.TryGetValue(a, out var t) ? t.Day.Value : (long?)null).ToArray()),
            ("monthSpent", balances.Keys.Select(a => spending.TryGetValue(a, out var t) ? t.Month.Value : (long?)null).ToArray()),
            ("day", periods.Day), ("month", periods.Month));
    }
}
