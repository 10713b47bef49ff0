using System.Data.Common;
using System.Globalization;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Storage.Ledger;

/// <summary>A transfer about to be inserted, with the wallet balances it leaves behind.</summary>
public sealed record TransferRow(TransferRequest Request, Micros? DebitBalanceAfter, Micros? CreditBalanceAfter);

/// <summary>
/// The statements a group commit runs, one row at a time in portable SQL. That costs nothing on SQLite (in
/// process); <see cref="PostgresLedgerStatements"/> sends each as one statement over arrays, so a group of any
/// size costs the same few round trips.
/// </summary>
public class LedgerStatements
{
    /// <summary>
    /// The balances of these accounts, each locked until the transaction ends. The caller passes them in
    /// ascending id order: every writer locks in the same order, so writers never deadlock.
    /// </summary>
    public virtual async Task<Dictionary<AccountId, Micros>> LockBalancesAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AccountId> accounts, CancellationToken cancellationToken)
    {
        // SQLite's BEGIN IMMEDIATE holds the only write lock already.
        var balances = new Dictionary<AccountId, Micros>(accounts.Count);
        await using var command = connection.CreateCommand(transaction, "SELECT balance FROM accounts WHERE id = @id", ("id", 0L));
        foreach (var account in accounts)
        {
            command.Parameters[0].Value = account.Value;
            balances[account] = new Micros(Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture));
        }
        return balances;
    }

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

    public virtual async Task SetBalancesAsync(DbConnection connection, DbTransaction transaction, IReadOnlyDictionary<AccountId, Micros> balances, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand(transaction, "UPDATE accounts SET balance = @balance WHERE id = @id", ("balance", 0L), ("id", 0L));
        foreach (var (account, balance) in balances)
        {
            command.Parameters[0].Value = balance.Value;
            command.Parameters[1].Value = account.Value;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}

/// <summary>The same statements over arrays: one round trip each, whatever the size of the group.</summary>
public sealed class PostgresLedgerStatements : LedgerStatements
{
    public override async Task<Dictionary<AccountId, Micros>> LockBalancesAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AccountId> accounts, CancellationToken cancellationToken)
    {
        var balances = new Dictionary<AccountId, Micros>(accounts.Count);
        if (accounts.Count == 0)
        {
            return balances;
        }
        // ORDER BY under FOR UPDATE: the rows are locked in id order.
        await using var command = connection.CreateCommand(transaction, "SELECT id, balance FROM accounts WHERE id = ANY(@ids) ORDER BY id FOR UPDATE",
            ("ids", accounts.Select(a => a.Value).ToArray()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            balances[new AccountId(reader.GetInt64(0))] = new Micros(reader.GetInt64(1));
        }
        return balances;
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

    public override async Task SetBalancesAsync(DbConnection connection, DbTransaction transaction, IReadOnlyDictionary<AccountId, Micros> balances, CancellationToken cancellationToken)
    {
        if (balances.Count == 0)
        {
            return;
        }
        await connection.ExecuteAsync(transaction,
            "UPDATE accounts SET balance = changed.balance FROM unnest(@ids, @balances) AS changed (id, balance) WHERE accounts.id = changed.id",
            cancellationToken,
            ("ids", balances.Keys.Select(a => a.Value).ToArray()), ("balances", balances.Values.Select(b => b.Value).ToArray()));
    }
}
