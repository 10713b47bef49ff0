using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Storage.Ledger;

/// <summary>The ledger on SQLite or PostgreSQL: the same SQL on both, the differences kept in <see cref="SqlDatabase"/>.</summary>
public sealed class SqlLedger(SqlDatabase database, TimeProvider clock) : ILedger
{
    private const int MaxAttempts = 5;
    private const string TransferColumns =
        "id, idempotency_key, debit_account_id, credit_account_id, amount, kind, reference, debit_balance_after, credit_balance_after, created_at";

    // An account's kind never changes, so every instance may remember it.
    private readonly ConcurrentDictionary<AccountId, AccountKind> _kinds = new();

    public async Task<Account> OpenAccountAsync(string code, AccountKind kind, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(code);
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "INSERT INTO accounts (code, kind, constrained, balance, created_at) VALUES (@code, @kind, @constrained, 0, @createdAt) ON CONFLICT (code) DO NOTHING",
            cancellationToken,
            ("code", code), ("kind", kind.ToString()), ("constrained", kind.IsBalanceConstrained()), ("createdAt", clock.GetUtcNow()));
        var account = await FindAccountAsync(connection, code, cancellationToken)
            ?? throw new InvalidOperationException($"Account {code} vanished after it was opened.");
        return account.Kind == kind
            ? account
            : throw new InvalidOperationException($"Account {code} exists as {account.Kind}, not {kind}.");
    }

    public async Task<Account?> FindAccountAsync(string code, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await FindAccountAsync(connection, code, cancellationToken);
    }

    private async Task<Account?> FindAccountAsync(DbConnection connection, string code, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand(null, "SELECT id, code, kind, created_at FROM accounts WHERE code = @code", ("code", code));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        var account = new Account(new AccountId(reader.GetInt64(0)), reader.GetString(1), Enum.Parse<AccountKind>(reader.GetString(2)), reader.GetTimestamp(3));
        _kinds.TryAdd(account.Id, account.Kind);
        return account;
    }

    public Task<PostResult> PostAsync(IReadOnlyList<TransferRequest> transfers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transfers);
        if (transfers.Count == 0)
        {
            throw new ArgumentException("A batch holds at least one transfer.", nameof(transfers));
        }
        foreach (var transfer in transfers)
        {
            transfer.EnsureValid();
        }
        if (transfers.Select(t => t.IdempotencyKey).Distinct(StringComparer.Ordinal).Count() != transfers.Count)
        {
            throw new ArgumentException("The transfers of a batch have distinct keys.", nameof(transfers));
        }
        // Once queued, a batch is posted even if the caller stops waiting: its outcome stays in the ledger.
        var pending = new PendingPost(transfers, new TaskCompletionSource<PostResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        _queue.Writer.TryWrite(pending);
        StartWriterIfNeeded();
        return pending.Done.Task;
    }

    // Group commit: batches queue up, and each writer posts everything queued in one transaction, so one commit
    // (one fsync) serves many charges. Each caller is answered only after the commit that holds its batch.
    private sealed record PendingPost(IReadOnlyList<TransferRequest> Transfers, TaskCompletionSource<PostResult> Done);

    private const int MaxGroup = 256;
    private readonly System.Threading.Channels.Channel<PendingPost> _queue = System.Threading.Channels.Channel.CreateUnbounded<PendingPost>();
    private int _activeWriters;

    private void StartWriterIfNeeded()
    {
        while (true)
        {
            var active = Volatile.Read(ref _activeWriters);
            if (active >= database.MaxWriters)
            {
                return;
            }
            if (Interlocked.CompareExchange(ref _activeWriters, active + 1, active) == active)
            {
                _ = Task.Run(WriteAsync);
                return;
            }
        }
    }

    private async Task WriteAsync()
    {
        var group = new List<PendingPost>(MaxGroup);
        while (true)
        {
            group.Clear();
            while (group.Count < MaxGroup && _queue.Reader.TryRead(out var pending))
            {
                group.Add(pending);
            }
            if (group.Count == 0)
            {
                Interlocked.Decrement(ref _activeWriters);
                // A batch queued after our last read, while every writer was busy, would otherwise wait for the next post.
                if (_queue.Reader.TryPeek(out _))
                {
                    StartWriterIfNeeded();
                }
                return;
            }
            await CommitGroupAsync(group);
        }
    }

    private async Task CommitGroupAsync(List<PendingPost> group)
    {
        try
        {
            var results = await PostGroupAsync(group.Select(p => p.Transfers).ToList());
            for (var i = 0; i < group.Count; i++)
            {
                group[i].Done.SetResult(results[i]);
            }
        }
        catch (Exception) when (group.Count > 1)
        {
            // One batch that cannot be posted must not fail the others: each goes alone, and fails alone.
            foreach (var pending in group)
            {
                try
                {
                    pending.Done.SetResult((await PostGroupAsync([pending.Transfers]))[0]);
                }
                catch (Exception e)
                {
                    pending.Done.SetException(e);
                }
            }
        }
        catch (Exception e)
        {
            group[0].Done.SetException(e);
        }
    }

    private async Task<PostResult[]> PostGroupAsync(IReadOnlyList<IReadOnlyList<TransferRequest>> batches)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await PostGroupOnceAsync(batches, CancellationToken.None);
            }
            catch (DbException e) when (database.IsTransient(e) && attempt < MaxAttempts)
            {
                // The database aborted the whole transaction (deadlock, serialization): nothing was written.
            }
        }
    }

    /// <summary>
    /// Posts many batches in one transaction. A batch that cannot be posted (a wallet cannot afford it, its first
    /// key exists) undoes its own balance changes before anything of it is written, so the others commit unharmed.
    /// </summary>
    private async Task<PostResult[]> PostGroupOnceAsync(IReadOnlyList<IReadOnlyList<TransferRequest>> batches, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var kinds = await ResolveKindsAsync(connection, batches.SelectMany(b => b.SelectMany(t => new[] { t.Debit, t.Credit })), cancellationToken);
        var results = new PostResult?[batches.Count];
        var checkExisting = new List<int>();
        // Row locks in one global order (the batch's first constrained account) so concurrent groups cannot deadlock;
        // the sort is stable, so batches on the same wallet keep their arrival order.
        var order = Enumerable.Range(0, batches.Count)
            .OrderBy(i => batches[i].SelectMany(t => new[] { t.Debit, t.Credit }).Where(a => kinds.TryGetValue(a, out var k) && k.IsBalanceConstrained())
                .Select(a => a.Value).DefaultIfEmpty(0).Min())
            .ToList();
        var now = clock.GetUtcNow();
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        foreach (var index in order)
        {
            var batch = batches[index];
            var missing = batch.SelectMany(t => new[] { t.Debit, t.Credit }).Where(id => !kinds.ContainsKey(id)).ToList();
            if (missing.Count > 0)
            {
                results[index] = new PostResult(PostOutcome.AccountNotFound, [], missing[0]);
                continue;
            }
            // Balances first, rows second: a batch that cannot be afforded has written no row, so undoing it is only
            // giving back its balance changes (transfers are append-only; not even this transaction may delete one).
            var applied = new List<(AccountId Account, Micros Delta)>();
            var balancesAfter = new List<(Micros? Debit, Micros? Credit)>(batch.Count);
            foreach (var transfer in batch)
            {
                Micros? debitAfter = null;
                Micros? creditAfter = null;
                foreach (var (account, isDebit) in new[] { (transfer.Debit, true), (transfer.Credit, false) }.OrderBy(side => side.Item1.Value))
                {
                    if (!kinds[account].IsBalanceConstrained())
                    {
                        continue;
                    }
                    var delta = isDebit ? -transfer.Amount : transfer.Amount;
                    var after = await ChangeConstrainedBalanceAsync(connection, transaction, account, delta, cancellationToken);
                    if (after is null)
                    {
                        // A retry of a batch that has been posted meanwhile can find the money already spent: checked after commit.
                        results[index] = new PostResult(PostOutcome.InsufficientFunds, [], account);
                        break;
                    }
                    applied.Add((account, delta));
                    if (isDebit)
                    {
                        debitAfter = after;
                    }
                    else
                    {
                        creditAfter = after;
                    }
                }
                if (results[index] is not null)
                {
                    break;
                }
                balancesAfter.Add((debitAfter, creditAfter));
            }
            var posted = new List<Transfer>(batch.Count);
            for (var i = 0; results[index] is null && i < batch.Count; i++)
            {
                var transfer = batch[i];
                var (debitAfter, creditAfter) = balancesAfter[i];
                var id = await InsertTransferAsync(connection, transaction, transfer, debitAfter, creditAfter, now, cancellationToken);
                if (id is null)
                {
                    if (posted.Count > 0)
                    {
                        // Fails the whole transaction; alone, the batch rolls back with it and the caller hears why.
                        throw new InvalidOperationException($"Transfer {transfer.IdempotencyKey} exists, but the batch it belongs to was new: keys reused across batches.");
                    }
                    results[index] = new PostResult(PostOutcome.AlreadyPosted, []);
                    break;
                }
                posted.Add(new Transfer(id.Value, transfer.IdempotencyKey, transfer.Debit, transfer.Credit, transfer.Amount, transfer.Kind,
                    transfer.Reference, debitAfter, creditAfter, now));
            }
            if (results[index] is null)
            {
                results[index] = new PostResult(PostOutcome.Posted, posted);
                continue;
            }
            foreach (var (account, delta) in applied)
            {
                await connection.ExecuteAsync(transaction, "UPDATE accounts SET balance = balance - @delta WHERE id = @id", cancellationToken,
                    ("delta", delta.Value), ("id", account.Value));
            }
            checkExisting.Add(index);
        }
        await transaction.CommitAsync(cancellationToken);

        foreach (var index in checkExisting)
        {
            var existing = await ExistingBatchAsync(connection, batches[index], cancellationToken);
            if (existing is not null)
            {
                results[index] = existing;
            }
            else if (results[index]!.Outcome == PostOutcome.AlreadyPosted)
            {
                throw new InvalidOperationException($"Transfer {batches[index][0].IdempotencyKey} conflicted with a transfer that cannot be found.");
            }
        }
        return results!;
    }

    /// <summary>
    /// One conditional statement: a debit applies only while the balance covers it, so concurrent debits
    /// can never overdraw a wallet (each waits for the row, then re-checks the condition). Null when it cannot.
    /// </summary>
    private static async Task<Micros?> ChangeConstrainedBalanceAsync(DbConnection connection, DbTransaction transaction, AccountId account, Micros delta, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand(transaction,
            "UPDATE accounts SET balance = balance + @delta WHERE id = @id AND balance + @delta >= 0 RETURNING balance",
            ("delta", delta.Value), ("id", account.Value));
        var balance = await command.ExecuteScalarAsync(cancellationToken);
        return balance is null or DBNull ? null : new Micros(Convert.ToInt64(balance, CultureInfo.InvariantCulture));
    }

    /// <summary>Null when the key exists: the unique index decides, also between concurrent transactions.</summary>
    private static async Task<long?> InsertTransferAsync(DbConnection connection, DbTransaction transaction, TransferRequest transfer,
        Micros? debitAfter, Micros? creditAfter, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand(transaction,
            """
            INSERT INTO transfers (idempotency_key, debit_account_id, credit_account_id, amount, kind, reference, debit_balance_after, credit_balance_after, created_at)
            VALUES (@key, @debit, @credit, @amount, @kind, @reference, @debitAfter, @creditAfter, @createdAt)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id
            """,
            ("key", transfer.IdempotencyKey), ("debit", transfer.Debit.Value), ("credit", transfer.Credit.Value), ("amount", transfer.Amount.Value),
            ("kind", transfer.Kind), ("reference", transfer.Reference), ("debitAfter", debitAfter?.Value), ("creditAfter", creditAfter?.Value),
            ("createdAt", now));
        var id = await command.ExecuteScalarAsync(cancellationToken);
        return id is null or DBNull ? null : Convert.ToInt64(id, CultureInfo.InvariantCulture);
    }

    /// <summary>What a batch whose keys were used before amounts to: the same movements, or a reuse of keys.</summary>
    private async Task<PostResult?> ExistingBatchAsync(DbConnection connection, IReadOnlyList<TransferRequest> transfers, CancellationToken cancellationToken)
    {
        var existing = new List<Transfer>(transfers.Count);
        foreach (var request in transfers)
        {
            if (await FindTransferAsync(connection, request.IdempotencyKey, cancellationToken) is { } transfer)
            {
                existing.Add(transfer);
            }
        }
        if (existing.Count == 0)
        {
            return null;
        }
        var same = existing.Count == transfers.Count && transfers.Zip(existing).All(pair => pair.First.SameMovementAs(pair.Second));
        return same
            ? new PostResult(PostOutcome.AlreadyPosted, existing)
            : new PostResult(PostOutcome.KeyReusedForDifferentTransfer, existing);
    }

    private async Task<Dictionary<AccountId, AccountKind>> ResolveKindsAsync(DbConnection connection, IEnumerable<AccountId> accounts, CancellationToken cancellationToken)
    {
        var kinds = new Dictionary<AccountId, AccountKind>();
        var unknown = new List<AccountId>();
        foreach (var account in accounts.Distinct())
        {
            if (_kinds.TryGetValue(account, out var kind))
            {
                kinds[account] = kind;
            }
            else
            {
                unknown.Add(account);
            }
        }
        if (unknown.Count == 0)
        {
            return kinds;
        }
        var names = unknown.Select((_, i) => "@a" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
        await using var command = connection.CreateCommand(null, $"SELECT id, kind FROM accounts WHERE id IN ({string.Join(", ", names)})",
            unknown.Select((id, i) => (names[i][1..], (object?)id.Value)).ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = new AccountId(reader.GetInt64(0));
            var kind = Enum.Parse<AccountKind>(reader.GetString(1));
            _kinds.TryAdd(id, kind);
            kinds[id] = kind;
        }
        return kinds;
    }

    public async Task<Micros> GetBalanceAsync(AccountId account, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var kinds = await ResolveKindsAsync(connection, [account], cancellationToken);
        if (!kinds.TryGetValue(account, out var kind))
        {
            throw new KeyNotFoundException($"Account {account} does not exist.");
        }
        var sql = kind.IsBalanceConstrained()
            ? "SELECT balance FROM accounts WHERE id = @id"
            : "SELECT (SELECT COALESCE(SUM(amount), 0) FROM transfers WHERE credit_account_id = @id) - (SELECT COALESCE(SUM(amount), 0) FROM transfers WHERE debit_account_id = @id)";
        await using var command = connection.CreateCommand(null, sql, ("id", account.Value));
        return new Micros(Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture));
    }

    public async Task<Transfer?> FindTransferAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await FindTransferAsync(connection, idempotencyKey, cancellationToken);
    }

    private static async Task<Transfer?> FindTransferAsync(DbConnection connection, string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand(null, $"SELECT {TransferColumns} FROM transfers WHERE idempotency_key = @key", ("key", idempotencyKey));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadTransfer(reader) : null;
    }

    public async Task<IReadOnlyList<Transfer>> ListTransfersAsync(AccountId account, int limit, long? beforeId, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await database.OpenAsync(cancellationToken);
        // Two index range scans, merged: an OR across the two account columns would scan the table.
        await using var command = connection.CreateCommand(null,
            $"""
            SELECT {TransferColumns} FROM (
                SELECT * FROM (SELECT {TransferColumns} FROM transfers WHERE debit_account_id = @account AND id < @before ORDER BY id DESC LIMIT @limit) AS debits
                UNION ALL
                SELECT * FROM (SELECT {TransferColumns} FROM transfers WHERE credit_account_id = @account AND id < @before ORDER BY id DESC LIMIT @limit) AS credits
            ) AS movements ORDER BY id DESC LIMIT @limit
            """,
            ("account", account.Value), ("before", beforeId ?? long.MaxValue), ("limit", limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var transfers = new List<Transfer>();
        while (await reader.ReadAsync(cancellationToken))
        {
            transfers.Add(ReadTransfer(reader));
        }
        return transfers;
    }

    public async Task<Micros> SumAsync(AccountId account, string kind, EntrySide side, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var column = side == EntrySide.Debit ? "debit_account_id" : "credit_account_id";
        await using var command = connection.CreateCommand(null,
            $"SELECT COALESCE(SUM(amount), 0) FROM transfers WHERE {column} = @account AND kind = @kind", ("account", account.Value), ("kind", kind));
        return new Micros(Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture));
    }

    public async Task<LedgerAudit> AuditAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginSnapshotAsync(connection, cancellationToken);
        long count;
        Micros total;
        await using (var totals = connection.CreateCommand(transaction, "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM transfers"))
        await using (var reader = await totals.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            count = Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture);
            total = new Micros(Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture));
        }
        var accounts = new List<AccountAudit>();
        await using (var perAccount = connection.CreateCommand(transaction,
            """
            SELECT a.id, a.code, a.kind, a.constrained, a.balance,
                   COALESCE((SELECT SUM(t.amount) FROM transfers t WHERE t.credit_account_id = a.id), 0)
                 - COALESCE((SELECT SUM(t.amount) FROM transfers t WHERE t.debit_account_id = a.id), 0)
            FROM accounts a ORDER BY a.id
            """))
        await using (var reader = await perAccount.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                accounts.Add(new AccountAudit(
                    new AccountId(reader.GetInt64(0)),
                    reader.GetString(1),
                    Enum.Parse<AccountKind>(reader.GetString(2)),
                    reader.GetBoolean(3) ? new Micros(reader.GetInt64(4)) : null,
                    new Micros(Convert.ToInt64(reader.GetValue(5), CultureInfo.InvariantCulture))));
            }
        }
        await transaction.CommitAsync(cancellationToken);
        return LedgerAudit.From(count, total, accounts, clock.GetUtcNow());
    }

    private static Transfer ReadTransfer(DbDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        new AccountId(reader.GetInt64(2)),
        new AccountId(reader.GetInt64(3)),
        new Micros(reader.GetInt64(4)),
        reader.GetString(5),
        reader.GetNullableString(6),
        reader.GetNullableInt64(7) is { } debitAfter ? new Micros(debitAfter) : null,
        reader.GetNullableInt64(8) is { } creditAfter ? new Micros(creditAfter) : null,
        reader.GetTimestamp(9));
}
