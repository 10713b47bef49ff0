using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Storage.Ledger;

/// <summary>The ledger on SQLite or PostgreSQL: the same SQL on both, the differences kept in <see cref="SqlDatabase"/>.</summary>
public sealed class SqlLedger : ILedger
{
    private readonly SqlDatabase _database;
    private readonly TimeProvider _clock;

    private const int MaxAttempts = 5;
    private const string TransferColumns =
        "id, idempotency_key, debit_account_id, credit_account_id, amount, kind, reference, debit_balance_after, credit_balance_after, created_at";

    // An account's kind never changes, so every instance may remember it.
    private readonly ConcurrentDictionary<AccountId, AccountKind> _kinds = new();

    public async Task<Account> OpenAccountAsync(string code, AccountKind kind, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(code);
        await using var connection = await _database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "INSERT INTO accounts (code, kind, constrained, balance, created_at) VALUES (@code, @kind, @constrained, 0, @createdAt) ON CONFLICT (code) DO NOTHING",
            cancellationToken,
            ("code", code), ("kind", kind.ToString()), ("constrained", kind.IsBalanceConstrained()), ("createdAt", _clock.GetUtcNow()));
        var account = await FindAccountAsync(connection, code, cancellationToken)
            ?? throw new InvalidOperationException($"Account {code} vanished after it was opened.");
        return account.Kind == kind
            ? account
            : throw new InvalidOperationException($"Account {code} exists as {account.Kind}, not {kind}.");
    }

    public async Task<Account?> FindAccountAsync(string code, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
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

    public Task<PostResult> PostAsync(IReadOnlyList<TransferRequest> transfers, CancellationToken cancellationToken) =>
        PostAsync(transfers, null, cancellationToken);

    public Task<PostResult> PostAsync(IReadOnlyList<TransferRequest> transfers, SpendingCaps? caps, CancellationToken cancellationToken)
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
        return _writer.RunAsync(new Batch(transfers, caps is { CapsAnything: true } ? caps : null));
    }

    // Group commit: batches queue up, and the writer posts everything queued in one transaction, so one commit (one
    // fsync) serves many charges. Each caller is answered only after the commit that holds its batch. One writer per
    // instance: SQLite has one write lock anyway, and on PostgreSQL more writers only queued on the same wallet rows
    // (measured: 4 writers made 2,100 charges/s, one 2,900).
    private const int Writers = 1;
    private const int MaxGroup = 256;
    private readonly Coalescer<Batch, PostResult> _writer;

    private sealed record Batch(IReadOnlyList<TransferRequest> Transfers, SpendingCaps? Caps);

    public SqlLedger(SqlDatabase database, TimeProvider clock)
    {
        _database = database;
        _clock = clock;
        _writer = new Coalescer<Batch, PostResult>(Writers, MaxGroup, CommitGroupAsync);
    }

    private async Task CommitGroupAsync(IReadOnlyList<Coalescer<Batch, PostResult>.Pending> group)
    {
        try
        {
            var results = await PostGroupAsync(group.Select(p => p.Item).ToList());
            for (var i = 0; i < group.Count; i++)
            {
                group[i].Completion.SetResult(results[i]);
            }
        }
        catch (Exception) when (group.Count > 1)
        {
            // One batch that cannot be posted must not fail the others: each goes alone, and fails alone.
            foreach (var pending in group)
            {
                try
                {
                    pending.Completion.SetResult((await PostGroupAsync([pending.Item]))[0]);
                }
                catch (Exception e)
                {
                    pending.Completion.SetException(e);
                }
            }
        }
    }

    private async Task<PostResult[]> PostGroupAsync(IReadOnlyList<Batch> batches)
    {
        var existingKeys = new HashSet<string>(StringComparer.Ordinal);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await PostGroupOnceAsync(batches, existingKeys, CancellationToken.None);
            }
            catch (KeyConflictException e) when (attempt < MaxAttempts)
            {
                // Rolled back: the batches holding these keys are retries (or reuses), told apart once the others commit.
                existingKeys.UnionWith(e.Keys);
            }
            catch (DbException e) when (_database.IsTransient(e) && attempt < MaxAttempts)
            {
                // The database aborted the whole transaction (deadlock, serialization): nothing was written.
            }
        }
    }

    /// <summary>
    /// Posts many batches in one transaction: the wallets they touch are locked and read once, each batch is
    /// decided in arrival order against those balances, and what was decided is written in one insert and one
    /// balance update. A batch that cannot be posted (a wallet cannot afford it, a key exists) writes nothing.
    /// Keys are not looked up first: the insert finds the ones that exist, and then the transaction is rolled back
    /// and tried again without their batches. Retries are rare; a lookup before every insert would cost every charge.
    /// </summary>
    private async Task<PostResult[]> PostGroupOnceAsync(IReadOnlyList<Batch> group, IReadOnlySet<string> existingKeys,
        CancellationToken cancellationToken)
    {
        var batches = group.Select(b => b.Transfers).ToList();
        var statements = _database.LedgerStatements;
        await using var connection = await _database.OpenAsync(cancellationToken);
        var kinds = await ResolveKindsAsync(connection, batches.SelectMany(b => b.SelectMany(t => new[] { t.Debit, t.Credit })), cancellationToken);
        bool IsConstrained(AccountId account) => kinds.TryGetValue(account, out var kind) && kind.IsBalanceConstrained();
        var results = new PostResult?[batches.Count];
        var now = _clock.GetUtcNow();
        await using var transaction = await _database.BeginWriteAsync(connection, cancellationToken);

        var wallets = batches.SelectMany(b => b.SelectMany(t => new[] { t.Debit, t.Credit })).Where(IsConstrained).Distinct().OrderBy(a => a.Value).ToList();
        var periods = new SpendingKeys(SpendingPeriods.Key(SpendingPeriod.Day, now), SpendingPeriods.Key(SpendingPeriod.Month, now));
        var locked = await statements.LockBalancesAsync(connection, transaction, wallets, periods, cancellationToken);
        var balances = locked.ToDictionary(pair => pair.Key, pair => pair.Value.Balance);
        var spending = locked.ToDictionary(pair => pair.Key, pair => new SpendingTotals(pair.Value.DaySpent, pair.Value.MonthSpent, now));
        var changed = new Dictionary<AccountId, Micros>();
        var changedSpending = new Dictionary<AccountId, SpendingTotals>();
        var rows = new List<TransferRow>();
        var rowBatch = new List<int>();
        var keysInGroup = new HashSet<string>(StringComparer.Ordinal);
        var capped = new SpendingTotals?[batches.Count];
        for (var index = 0; index < batches.Count; index++)
        {
            var batch = batches[index];
            var missing = batch.SelectMany(t => new[] { t.Debit, t.Credit }).Where(id => !kinds.ContainsKey(id)).ToList();
            if (missing.Count > 0)
            {
                results[index] = new PostResult(PostOutcome.AccountNotFound, [], missing[0]);
                continue;
            }
            if (batch.Any(t => existingKeys.Contains(t.IdempotencyKey) || keysInGroup.Contains(t.IdempotencyKey)))
            {
                // A retry, or keys reused (also by an earlier batch of this group): told apart after commit by what the existing transfers are.
                results[index] = new PostResult(PostOutcome.AlreadyPosted, []);
                continue;
            }
            var trial = new Dictionary<AccountId, Micros>();
            var batchRows = new List<TransferRow>(batch.Count);
            Micros Move(AccountId account, Micros delta)
            {
                var after = (trial.TryGetValue(account, out var current) ? current : balances[account]) + delta;
                trial[account] = after;
                return after;
            }
            foreach (var transfer in batch)
            {
                Micros? debitAfter = IsConstrained(transfer.Debit) ? Move(transfer.Debit, -transfer.Amount) : null;
                Micros? creditAfter = IsConstrained(transfer.Credit) ? Move(transfer.Credit, transfer.Amount) : null;
                if (debitAfter < Micros.Zero && !transfer.MayOverdraw)
                {
                    // A retry of a batch that has been posted meanwhile can find the money already spent: checked after commit.
                    results[index] = new PostResult(PostOutcome.InsufficientFunds, [], transfer.Debit);
                    break;
                }
                batchRows.Add(new TransferRow(transfer, debitAfter, creditAfter));
            }
            if (results[index] is not null)
            {
                continue;
            }
            var spent = new Dictionary<AccountId, SpendingTotals>();
            foreach (var charge in batch.Where(t => SpendingPeriods.Counts(t) && IsConstrained(t.Debit)))
            {
                var before = spent.TryGetValue(charge.Debit, out var current) ? current : spending[charge.Debit];
                spent[charge.Debit] = before with { Day = before.Day + charge.Amount, Month = before.Month + charge.Amount };
            }
            if (group[index].Caps is { } caps)
            {
                var after = spent.TryGetValue(caps.Account, out var total) ? total : spending.GetValueOrDefault(caps.Account) ?? SpendingTotals.None with { At = now };
                var exceeded = new[] { SpendingPeriod.Day, SpendingPeriod.Month }.Cast<SpendingPeriod?>()
                    .FirstOrDefault(period => caps.CapOf(period!.Value) is { } cap && after.Of(period.Value) > cap);
                if (exceeded is not null)
                {
                    // A retry of a batch posted meanwhile can find the budget already spent: checked after commit, as funds are.
                    results[index] = new PostResult(PostOutcome.BudgetExceeded, [], caps.Account)
                    {
                        Spending = spending.GetValueOrDefault(caps.Account) ?? SpendingTotals.None with { At = now },
                        ExceededPeriod = exceeded,
                    };
                    continue;
                }
                capped[index] = after;
            }
            foreach (var (account, total) in spent)
            {
                spending[account] = total;
                changedSpending[account] = total;
            }
            foreach (var (account, balance) in trial)
            {
                balances[account] = balance;
                changed[account] = balance;
            }
            keysInGroup.UnionWith(batch.Select(t => t.IdempotencyKey));
            rows.AddRange(batchRows);
            rowBatch.AddRange(Enumerable.Repeat(index, batchRows.Count));
        }

        long? firstId = null;
        if (rows.Count > 0)
        {
            var ids = await statements.InsertTransfersAsync(connection, transaction, rows, now, cancellationToken);
            firstId = ids[0];
            if (ids.Any(id => id is null))
            {
                throw new KeyConflictException(rows.Where((_, i) => ids[i] is null).Select(r => r.Request.IdempotencyKey).ToList());
            }
            await statements.SetBalancesAsync(connection, transaction, changed, changedSpending, periods, cancellationToken);
            var posted = new Dictionary<int, List<Transfer>>();
            for (var i = 0; i < rows.Count; i++)
            {
                var (request, debitAfter, creditAfter) = rows[i];
                if (!posted.TryGetValue(rowBatch[i], out var transfers))
                {
                    posted[rowBatch[i]] = transfers = [];
                }
                transfers.Add(new Transfer(ids[i]!.Value, request.IdempotencyKey, request.Debit, request.Credit, request.Amount, request.Kind,
                    request.Reference, debitAfter, creditAfter, now));
            }
            foreach (var (index, transfers) in posted)
            {
                results[index] = new PostResult(PostOutcome.Posted, transfers) { Spending = capped[index] };
            }
        }
        DbConnection? lookup = null;
        try
        {
            await transaction.CommitAsync(cancellationToken);
        }
        catch (Exception e) when (firstId is { } inserted && e is DbException or IOException or System.Net.Sockets.SocketException)
        {
            // The answer to COMMIT was lost (the connection broke): the group may have committed. All its rows commit or
            // none do, so its first row tells, read on a new connection; if it is not there, nothing was written.
            lookup = await _database.OpenAsync(cancellationToken);
            if ((await FindTransferAsync(lookup, rows[0].Request.IdempotencyKey, cancellationToken))?.Id != inserted)
            {
                await lookup.DisposeAsync();
                throw;
            }
        }
        await using var _ = lookup;

        for (var index = 0; index < batches.Count; index++)
        {
            if (results[index]!.Outcome is not (PostOutcome.AlreadyPosted or PostOutcome.InsufficientFunds or PostOutcome.BudgetExceeded))
            {
                continue;
            }
            var existing = await ExistingBatchAsync(lookup ?? connection, batches[index], cancellationToken);
            if (existing is not null)
            {
                results[index] = existing;
            }
            else if (results[index]!.Outcome == PostOutcome.AlreadyPosted)
            {
                throw new InvalidOperationException($"Transfer {batches[index][0].IdempotencyKey} existed but cannot be found.");
            }
        }
        return results!;
    }

    /// <summary>Keys that exist already: the group's transaction is rolled back and tried again without their batches.</summary>
    private sealed class KeyConflictException(IReadOnlyList<string> keys) : Exception("Idempotency keys of the group exist already.")
    {
        public IReadOnlyList<string> Keys { get; } = keys;
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
        await using var connection = await _database.OpenAsync(cancellationToken);
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

    public async Task<SpendingTotals> GetSpendingAsync(AccountId account, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var day = SpendingPeriods.Key(SpendingPeriod.Day, at);
        var month = SpendingPeriods.Key(SpendingPeriod.Month, at);
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "SELECT CASE WHEN spending_day = @day THEN spent_day ELSE 0 END, CASE WHEN spending_month = @month THEN spent_month ELSE 0 END FROM accounts WHERE id = @account",
            ("account", account.Value), ("day", day), ("month", month));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new SpendingTotals(new Micros(Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture)), new Micros(Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture)), at)
            : new SpendingTotals(Micros.Zero, Micros.Zero, at);
    }

    public async Task<Transfer?> FindTransferAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
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
        await using var connection = await _database.OpenAsync(cancellationToken);
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
        await using var connection = await _database.OpenAsync(cancellationToken);
        var column = side == EntrySide.Debit ? "debit_account_id" : "credit_account_id";
        await using var command = connection.CreateCommand(null,
            $"SELECT COALESCE(SUM(amount), 0) FROM transfers WHERE {column} = @account AND kind = @kind", ("account", account.Value), ("kind", kind));
        return new Micros(Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture));
    }

    public async Task<LedgerAudit> AuditAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var transaction = await _database.BeginSnapshotAsync(connection, cancellationToken);
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
        // One pass over the transfers, grouped: a subquery per account would read the table once per wallet.
        await using (var perAccount = connection.CreateCommand(transaction,
            """
            SELECT a.id, a.code, a.kind, a.constrained, a.balance, COALESCE(moved.net, 0)
            FROM accounts a
            LEFT JOIN (
                SELECT account_id, SUM(delta) AS net FROM (
                    SELECT credit_account_id AS account_id, amount AS delta FROM transfers
                    UNION ALL
                    SELECT debit_account_id, -amount FROM transfers
                ) AS movements GROUP BY account_id
            ) AS moved ON moved.account_id = a.id
            ORDER BY a.id
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
        var overdrawing = new List<OverdrawingTransfer>();
        await using (var below = connection.CreateCommand(transaction,
            $"""
            SELECT idempotency_key, kind, debit_account_id, debit_balance_after FROM transfers
            WHERE debit_balance_after < 0 AND kind NOT IN ('{TransferKinds.Refund}', '{TransferKinds.Chargeback}')
            ORDER BY id LIMIT 100
            """))
        await using (var reader = await below.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                overdrawing.Add(new OverdrawingTransfer(reader.GetString(0), reader.GetString(1), new AccountId(reader.GetInt64(2)), new Micros(reader.GetInt64(3))));
            }
        }
        await transaction.CommitAsync(cancellationToken);
        return LedgerAudit.From(count, total, accounts, overdrawing, _clock.GetUtcNow());
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
