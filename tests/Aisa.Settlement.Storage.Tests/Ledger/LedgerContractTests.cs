using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Ledger;

namespace Aisa.Settlement.Storage.Tests.Ledger;

/// <summary>One contract, two stores: every test here runs on SQLite and on PostgreSQL.</summary>
public abstract class LedgerContractTests : IAsyncLifetime
{
    private ITestDatabase _testDatabase = null!;
    private SqlDatabase _database = null!;
    private SqlLedger _ledger = null!;

    protected abstract Task<ITestDatabase> CreateTestDatabaseAsync();

    public async Task InitializeAsync()
    {
        _testDatabase = await CreateTestDatabaseAsync();
        _database = _testDatabase.Open();
        await _database.MigrateAsync(CancellationToken.None);
        _ledger = new SqlLedger(_database, TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        await _testDatabase.DisposeAsync();
    }

    private static CancellationToken None => CancellationToken.None;

    private async Task<(Account Clearing, Account Wallet)> FundedWalletAsync(Micros funds, string name = "agent-1")
    {
        var clearing = await _ledger.OpenAccountAsync(AccountCodes.RailClearing("base"), AccountKind.RailClearing, None);
        var wallet = await _ledger.OpenAccountAsync(AccountCodes.AgentWallet(name), AccountKind.AgentWallet, None);
        if (funds.IsPositive)
        {
            var funded = await _ledger.PostAsync(new TransferRequest($"deposit:{name}", clearing.Id, wallet.Id, funds, "deposit"), None);
            Assert.Equal(PostOutcome.Posted, funded.Outcome);
        }
        return (clearing, wallet);
    }

    [Fact]
    public async Task Spending_caps_count_only_charges_refuse_the_batch_that_would_pass_one_and_a_new_day_starts_from_zero()
    {
        var clock = new SteppedClock(new DateTimeOffset(2026, 12, 4, 23, 59, 0, TimeSpan.Zero));
        var ledger = new SqlLedger(_database, clock);
        var (clearing, wallet) = await FundedWalletAsync(Micros.FromUsd(10m));
        var payable = await ledger.OpenAccountAsync(AccountCodes.PublisherPayable("p"), AccountKind.PublisherPayable, None);
        var caps = new SpendingCaps(wallet.Id, Micros.FromUsd(0.30m), Micros.FromUsd(0.50m));
        TransferRequest Charge(int n, decimal usd) => new($"charge:{n}", wallet.Id, payable.Id, Micros.FromUsd(usd), TransferKinds.Charge);

        var uncapped = await ledger.PostAsync([Charge(1, 0.10m)], None);
        var adjustment = await ledger.PostAsync([new TransferRequest("adjustment:1", wallet.Id, clearing.Id, Micros.FromUsd(1m), TransferKinds.Adjustment)], None);
        var second = await ledger.PostAsync([Charge(2, 0.20m)], caps, None);
        var over = await ledger.PostAsync([Charge(3, 0.01m)], caps, None);
        var retried = await ledger.PostAsync([Charge(2, 0.20m)], caps, None);
        clock.Now += TimeSpan.FromMinutes(2);
        var nextDay = await ledger.PostAsync([Charge(4, 0.15m)], caps, None);
        var overMonth = await ledger.PostAsync([Charge(5, 0.10m)], caps, None);
        clock.Now += TimeSpan.FromDays(30);
        var nextMonth = await ledger.GetSpendingAsync(wallet.Id, clock.Now, None);

        Assert.Equal(PostOutcome.Posted, uncapped.Outcome);
        Assert.Null(uncapped.Spending);
        Assert.Equal(PostOutcome.Posted, adjustment.Outcome);
        Assert.Equal(PostOutcome.Posted, second.Outcome);
        Assert.Equal(Micros.FromUsd(0.30m), second.Spending!.Day);
        Assert.Equal(PostOutcome.BudgetExceeded, over.Outcome);
        Assert.Equal(SpendingPeriod.Day, over.ExceededPeriod);
        Assert.Equal(Micros.FromUsd(0.30m), over.Spending!.Day);
        Assert.Equal(PostOutcome.AlreadyPosted, retried.Outcome);
        Assert.Equal(PostOutcome.Posted, nextDay.Outcome);
        Assert.Equal((Micros.FromUsd(0.15m), Micros.FromUsd(0.45m)), (nextDay.Spending!.Day, nextDay.Spending.Month));
        Assert.Equal(PostOutcome.BudgetExceeded, overMonth.Outcome);
        Assert.Equal(SpendingPeriod.Month, overMonth.ExceededPeriod);
        Assert.Equal(Micros.Zero, nextMonth.Month);
        Assert.Equal(Micros.FromUsd(9.55m - 1m), await ledger.GetBalanceAsync(wallet.Id, None));
        await AssertAuditBalancedAsync();
    }

    [Fact]
    public async Task Concurrent_capped_charges_pass_a_cap_never_whatever_the_group_they_land_in()
    {
        var (_, wallet) = await FundedWalletAsync(Micros.FromUsd(100m));
        var payable = await _ledger.OpenAccountAsync(AccountCodes.PublisherPayable("p"), AccountKind.PublisherPayable, None);
        var caps = new SpendingCaps(wallet.Id, Micros.FromUsd(0.50m), null);

        var results = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => Task.Run(() =>
            _ledger.PostAsync([new TransferRequest($"charge:{i}", wallet.Id, payable.Id, Micros.FromUsd(0.01m), TransferKinds.Charge)], caps, None))));

        Assert.Equal(50, results.Count(r => r.Outcome == PostOutcome.Posted));
        Assert.Equal(250, results.Count(r => r.Outcome == PostOutcome.BudgetExceeded));
        Assert.Equal(Micros.FromUsd(0.50m), (await _ledger.GetSpendingAsync(wallet.Id, DateTimeOffset.UtcNow, None)).Day);
    }

    private sealed class SteppedClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private async Task AssertAuditBalancedAsync()
    {
        var audit = await _ledger.AuditAsync(None);
        Assert.True(audit.Balanced, string.Join(" ", audit.Problems));
        Assert.Equal(Micros.Zero, audit.SumOfBalances);
    }

    [Fact]
    public async Task A_transfer_moves_money_from_debit_to_credit()
    {
        var (clearing, wallet) = await FundedWalletAsync(Micros.FromUsd(5m));

        Assert.Equal(Micros.FromUsd(5m), await _ledger.GetBalanceAsync(wallet.Id, None));
        Assert.Equal(Micros.FromUsd(-5m), await _ledger.GetBalanceAsync(clearing.Id, None));
        var stored = await _ledger.FindTransferAsync("deposit:agent-1", None);
        Assert.NotNull(stored);
        Assert.Equal(Micros.FromUsd(5m), stored.Amount);
        Assert.Equal(Micros.FromUsd(5m), stored.CreditBalanceAfter);
        Assert.Null(stored.DebitBalanceAfter);
        await AssertAuditBalancedAsync();
    }

    [Fact]
    public async Task The_same_key_twice_moves_money_once()
    {
        var (clearing, wallet) = await FundedWalletAsync(Micros.Zero);
        var deposit = new TransferRequest("deposit:base:0xabc:0", clearing.Id, wallet.Id, Micros.FromUsd(2.5m), "deposit");

        var first = await _ledger.PostAsync(deposit, None);
        var second = await _ledger.PostAsync(deposit, None);

        Assert.Equal(PostOutcome.Posted, first.Outcome);
        Assert.Equal(PostOutcome.AlreadyPosted, second.Outcome);
        Assert.Equal(first.Transfers[0].Id, second.Transfers[0].Id);
        Assert.Equal(Micros.FromUsd(2.5m), await _ledger.GetBalanceAsync(wallet.Id, None));
        await AssertAuditBalancedAsync();
    }

    [Fact]
    public async Task The_same_key_from_two_connections_at_the_same_time_credits_once()
    {
        var (clearing, wallet) = await FundedWalletAsync(Micros.Zero);
        // A second ledger on its own connection pool, as a second service instance would have.
        await using var otherDatabase = _testDatabase.Open();
        var other = new SqlLedger(otherDatabase, TimeProvider.System);

        for (var round = 0; round < 20; round++)
        {
            var deposit = new TransferRequest($"deposit:base:0x{round:x4}:0", clearing.Id, wallet.Id, Micros.FromUsd(1m), "deposit");
            using var start = new ManualResetEventSlim();
            var posts = Enumerable.Range(0, 4)
                .Select(i => Task.Run(async () =>
                {
                    start.Wait();
                    return await (i % 2 == 0 ? _ledger : other).PostAsync(deposit, None);
                }))
                .ToArray();
            start.Set();
            var results = await Task.WhenAll(posts);

            Assert.Single(results, r => r.Outcome == PostOutcome.Posted);
            Assert.All(results, r => Assert.True(r.Succeeded, r.Outcome.ToString()));
            Assert.Single(results.Select(r => r.Transfers[0].Id).Distinct());
        }
        Assert.Equal(Micros.FromUsd(20m), await _ledger.GetBalanceAsync(wallet.Id, None));
        await AssertAuditBalancedAsync();
    }

    [Fact]
    public async Task A_key_reused_for_a_different_transfer_is_refused_and_moves_nothing()
    {
        var (clearing, wallet) = await FundedWalletAsync(Micros.FromUsd(1m));

        var reuse = await _ledger.PostAsync(new TransferRequest("deposit:agent-1", clearing.Id, wallet.Id, Micros.FromUsd(7m), "deposit"), None);

        Assert.Equal(PostOutcome.KeyReusedForDifferentTransfer, reuse.Outcome);
        Assert.Equal(Micros.FromUsd(1m), await _ledger.GetBalanceAsync(wallet.Id, None));
        await AssertAuditBalancedAsync();
    }

    [Fact]
    public async Task A_retry_matches_only_a_transfer_of_the_same_kind_and_reference()
    {
        var (clearing, wallet) = await FundedWalletAsync(Micros.FromUsd(5m));
        var payable = await _ledger.OpenAccountAsync(AccountCodes.PublisherPayable("news.example.com"), AccountKind.PublisherPayable, None);
        var charge = new TransferRequest("charge:op-1", wallet.Id, payable.Id, Micros.FromUsd(1m), TransferKinds.Charge, "news.example.com/article/1");
        Assert.Equal(PostOutcome.Posted, (await _ledger.PostAsync(charge, None)).Outcome);

        var same = await _ledger.PostAsync(charge, None);
        // Same accounts and amount, but another resource, or another kind of movement: not the transfer that was posted.
        var otherResource = await _ledger.PostAsync(charge with { Reference = "news.example.com/article/2" }, None);
        var otherKind = await _ledger.PostAsync(charge with { Kind = TransferKinds.Adjustment }, None);

        Assert.Equal(PostOutcome.AlreadyPosted, same.Outcome);
        Assert.Equal(PostOutcome.KeyReusedForDifferentTransfer, otherResource.Outcome);
        Assert.Equal(PostOutcome.KeyReusedForDifferentTransfer, otherKind.Outcome);
        Assert.Equal(Micros.FromUsd(4m), await _ledger.GetBalanceAsync(wallet.Id, None));
        await AssertAuditBalancedAsync();
    }

    [Fact]
    public async Task Two_hundred_concurrent_debits_succeed_exactly_as_often_as_the_wallet_affords()
    {
        var price = Micros.FromUsd(0.01m);
        var leftover = Micros.FromUsd(0.004321m);
        var (_, wallet) = await FundedWalletAsync(new Micros(price.Value * 137) + leftover);
        var publisher = await _ledger.OpenAccountAsync(AccountCodes.PublisherPayable("pub-1"), AccountKind.PublisherPayable, None);
        await using var otherDatabase = _testDatabase.Open();
        var ledgers = new[] { _ledger, new SqlLedger(otherDatabase, TimeProvider.System) };

        using var start = new ManualResetEventSlim();
        var debits = Enumerable.Range(0, 200)
            .Select(i => Task.Run(async () =>
            {
                start.Wait();
                return await ledgers[i % 2].PostAsync(new TransferRequest($"charge:{i}", wallet.Id, publisher.Id, price, "charge"), None);
            }))
            .ToArray();
        start.Set();
        var results = await Task.WhenAll(debits);

        Assert.Equal(137, results.Count(r => r.Outcome == PostOutcome.Posted));
        Assert.Equal(63, results.Count(r => r.Outcome == PostOutcome.InsufficientFunds));
        Assert.Equal(leftover, await _ledger.GetBalanceAsync(wallet.Id, None));
        Assert.Equal(new Micros(price.Value * 137), await _ledger.GetBalanceAsync(publisher.Id, None));
        // Every charge knows the balance it left: all distinct, from the top down to the leftover.
        var balancesAfter = results.Where(r => r.Outcome == PostOutcome.Posted).Select(r => r.Transfers[0].DebitBalanceAfter!.Value).Order().ToList();
        Assert.Equal(Enumerable.Range(0, 137).Select(k => new Micros(price.Value * k) + leftover), balancesAfter);
        await AssertAuditBalancedAsync();
    }

    [Fact]
    public async Task Batches_committed_together_fail_alone_and_the_others_post()
    {
        // Posted at once, these share group commits: each must get its own outcome, as if posted alone.
        var (clearing, wallet) = await FundedWalletAsync(Micros.FromUsd(1m));
        var publisher = await _ledger.OpenAccountAsync(AccountCodes.PublisherPayable("pub-1"), AccountKind.PublisherPayable, None);
        var platform = await _ledger.OpenAccountAsync(AccountCodes.PlatformRevenue, AccountKind.PlatformRevenue, None);
        var otherWallet = await _ledger.OpenAccountAsync(AccountCodes.AgentWallet("agent-2"), AccountKind.AgentWallet, None);
        var batches = new List<(string Expect, TransferRequest[] Batch)>();
        for (var i = 0; i < 30; i++)
        {
            batches.Add(("posted", [new($"ok:{i}", clearing.Id, wallet.Id, Micros.FromUsd(0.1m), "deposit")]));
            batches.Add(("insufficient", [new($"big:{i}", wallet.Id, publisher.Id, Micros.FromUsd(1_000m), "charge"), new($"big:{i}:fee", publisher.Id, platform.Id, Micros.FromUsd(1m), "platform-fee")]));
            // Its first transfer alone would post: the whole batch must not.
            batches.Add(("insufficient", [new($"late:{i}", clearing.Id, otherWallet.Id, Micros.FromUsd(0.1m), "deposit"), new($"late:{i}:charge", wallet.Id, publisher.Id, Micros.FromUsd(1_000m), "charge")]));
            batches.Add(("missing", [new($"lost:{i}", clearing.Id, new AccountId(987_654), Micros.FromUsd(1m), "deposit")]));
            batches.Add(("already", [new("deposit:agent-1", clearing.Id, wallet.Id, Micros.FromUsd(1m), "deposit")]));
        }

        using var start = new ManualResetEventSlim();
        var posts = batches.Select(b => Task.Run(async () => { start.Wait(); return await _ledger.PostAsync(b.Batch, None); })).ToArray();
        start.Set();
        var results = await Task.WhenAll(posts);

        var expected = new Dictionary<string, PostOutcome>
        {
            ["posted"] = PostOutcome.Posted, ["insufficient"] = PostOutcome.InsufficientFunds,
            ["missing"] = PostOutcome.AccountNotFound, ["already"] = PostOutcome.AlreadyPosted,
        };
        Assert.All(batches.Zip(results), pair => Assert.Equal(expected[pair.First.Expect], pair.Second.Outcome));
        Assert.Equal(Micros.FromUsd(4m), await _ledger.GetBalanceAsync(wallet.Id, None));
        Assert.Null(await _ledger.FindTransferAsync("big:0:fee", None));
        Assert.Null(await _ledger.FindTransferAsync("late:0", None));
        Assert.Equal(Micros.Zero, await _ledger.GetBalanceAsync(otherWallet.Id, None));
        await AssertAuditBalancedAsync();
    }

    [Fact]
    public async Task A_batch_posts_all_its_transfers_or_none()
    {
        var price = Micros.FromUsd(1m);
        var fee = Micros.FromUsd(0.1m);
        var (_, wallet) = await FundedWalletAsync(Micros.FromUsd(1.5m));
        var publisher = await _ledger.OpenAccountAsync(AccountCodes.PublisherPayable("pub-1"), AccountKind.PublisherPayable, None);
        var platform = await _ledger.OpenAccountAsync(AccountCodes.PlatformRevenue, AccountKind.PlatformRevenue, None);
        TransferRequest[] Charge(int n) =>
        [
            new($"charge:{n}", wallet.Id, publisher.Id, price, "charge"),
            new($"charge:{n}:fee", publisher.Id, platform.Id, fee, "platform-fee"),
        ];

        var first = await _ledger.PostAsync(Charge(1), None);
        var second = await _ledger.PostAsync(Charge(2), None);
        var retry = await _ledger.PostAsync(Charge(1), None);

        Assert.Equal(PostOutcome.Posted, first.Outcome);
        Assert.Equal(2, first.Transfers.Count);
        Assert.Equal(PostOutcome.InsufficientFunds, second.Outcome);
        Assert.Equal(wallet.Id, second.FailedAccount);
        Assert.Null(await _ledger.FindTransferAsync("charge:2:fee", None));
        Assert.Equal(PostOutcome.AlreadyPosted, retry.Outcome);
        Assert.Equal(Micros.FromUsd(0.5m), await _ledger.GetBalanceAsync(wallet.Id, None));
        Assert.Equal(Micros.FromUsd(0.9m), await _ledger.GetBalanceAsync(publisher.Id, None));
        Assert.Equal(Micros.FromUsd(0.1m), await _ledger.GetBalanceAsync(platform.Id, None));
        await AssertAuditBalancedAsync();
    }

    [Fact]
    public async Task A_retry_after_the_money_was_spent_reports_the_first_post_not_insufficient_funds()
    {
        var (_, wallet) = await FundedWalletAsync(Micros.FromUsd(1m));
        var publisher = await _ledger.OpenAccountAsync(AccountCodes.PublisherPayable("pub-1"), AccountKind.PublisherPayable, None);
        var charge = new TransferRequest("charge:all-of-it", wallet.Id, publisher.Id, Micros.FromUsd(1m), "charge");

        Assert.Equal(PostOutcome.Posted, (await _ledger.PostAsync(charge, None)).Outcome);
        Assert.Equal(PostOutcome.AlreadyPosted, (await _ledger.PostAsync(charge, None)).Outcome);
        Assert.Equal(Micros.Zero, await _ledger.GetBalanceAsync(wallet.Id, None));
    }

    [Fact]
    public async Task A_transfer_to_an_unknown_account_moves_nothing()
    {
        var (clearing, _) = await FundedWalletAsync(Micros.Zero);

        var result = await _ledger.PostAsync(new TransferRequest("deposit:nowhere", clearing.Id, new AccountId(999_999), Micros.FromUsd(1m), "deposit"), None);

        Assert.Equal(PostOutcome.AccountNotFound, result.Outcome);
        Assert.Equal(new AccountId(999_999), result.FailedAccount);
        Assert.Null(await _ledger.FindTransferAsync("deposit:nowhere", None));
    }

    [Fact]
    public async Task Invalid_transfers_are_refused_before_reaching_the_database()
    {
        var (clearing, wallet) = await FundedWalletAsync(Micros.Zero);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _ledger.PostAsync(new TransferRequest("zero", clearing.Id, wallet.Id, Micros.Zero, "deposit"), None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _ledger.PostAsync(new TransferRequest("negative", clearing.Id, wallet.Id, new Micros(-1), "deposit"), None));
        await Assert.ThrowsAsync<ArgumentException>(() => _ledger.PostAsync(new TransferRequest("self", wallet.Id, wallet.Id, new Micros(1), "deposit"), None));
        await Assert.ThrowsAsync<ArgumentException>(() => _ledger.PostAsync(new TransferRequest("", clearing.Id, wallet.Id, new Micros(1), "deposit"), None));
        Assert.Equal(0, (await _ledger.AuditAsync(None)).TransferCount);
    }

    [Fact]
    public async Task Posted_transfers_cannot_be_changed_or_deleted()
    {
        await FundedWalletAsync(Micros.FromUsd(1m));
        await using var connection = await _database.OpenAsync(None);

        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => connection.ExecuteAsync(null, "UPDATE transfers SET amount = 1", None));
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => connection.ExecuteAsync(null, "DELETE FROM transfers", None));
        Assert.Equal(Micros.FromUsd(1m), (await _ledger.FindTransferAsync("deposit:agent-1", None))!.Amount);
    }

    [Fact]
    public async Task A_refund_or_chargeback_may_take_a_wallet_below_zero_and_it_then_affords_nothing_until_topped_up()
    {
        var (clearing, wallet) = await FundedWalletAsync(Micros.FromUsd(1m));
        var publisher = await _ledger.OpenAccountAsync(AccountCodes.PublisherPayable("pub-1"), AccountKind.PublisherPayable, None);
        Task<PostResult> ChargeAsync(string key, decimal usd) =>
            _ledger.PostAsync(new TransferRequest(key, wallet.Id, publisher.Id, Micros.FromUsd(usd), TransferKinds.Charge), None);
        Assert.Equal(PostOutcome.Posted, (await ChargeAsync("charge:1", 0.6m)).Outcome);

        var chargeback = await _ledger.PostAsync(new TransferRequest("stripe:dispute:dp_1", wallet.Id, clearing.Id, Micros.FromUsd(1m), TransferKinds.Chargeback), None);

        Assert.Equal(PostOutcome.Posted, chargeback.Outcome);
        Assert.Equal(Micros.FromUsd(-0.6m), chargeback.Transfers[0].DebitBalanceAfter);
        Assert.Equal(PostOutcome.InsufficientFunds, (await ChargeAsync("charge:2", 0.1m)).Outcome);
        var frozen = await _ledger.AuditAsync(None);
        Assert.True(frozen.Balanced, string.Join(" ", frozen.Problems));
        Assert.True(frozen.Accounts.Single(a => a.Id == wallet.Id).Frozen);
        Assert.Equal(1, frozen.FrozenWallets);
        // A refund of a wallet already below zero is booked too: the money is gone either way.
        Assert.Equal(Micros.FromUsd(-0.8m),
            (await _ledger.PostAsync(new TransferRequest("stripe:refund:re_1", wallet.Id, clearing.Id, Micros.FromUsd(0.2m), TransferKinds.Refund), None)).Transfers[0].DebitBalanceAfter);
        // Neither a charge nor an operator's debit may, however small.
        var adjustments = await _ledger.OpenAccountAsync(AccountCodes.OperatorAdjustments, AccountKind.OperatorAdjustments, None);
        Assert.Equal(PostOutcome.InsufficientFunds,
            (await _ledger.PostAsync(new TransferRequest("adjust:1", wallet.Id, adjustments.Id, new Micros(1), TransferKinds.Adjustment), None)).Outcome);

        Assert.Equal(PostOutcome.Posted, (await _ledger.PostAsync(new TransferRequest("deposit:2", clearing.Id, wallet.Id, Micros.FromUsd(0.85m), TransferKinds.Deposit), None)).Outcome);
        Assert.Equal(PostOutcome.InsufficientFunds, (await ChargeAsync("charge:3", 0.1m)).Outcome);
        Assert.Equal(PostOutcome.Posted, (await ChargeAsync("charge:4", 0.05m)).Outcome);
        Assert.Equal(Micros.Zero, await _ledger.GetBalanceAsync(wallet.Id, None));
        await AssertAuditBalancedAsync();
        Assert.Equal(0, (await _ledger.AuditAsync(None)).FrozenWallets);
    }

    [Fact]
    public async Task The_database_refuses_a_transfer_that_leaves_a_wallet_below_zero_unless_it_takes_back_paid_money()
    {
        var (clearing, wallet) = await FundedWalletAsync(Micros.FromUsd(1m));
        await using var connection = await _database.OpenAsync(None);
        Task InsertAsync(string key, string kind) => connection.ExecuteAsync(null,
            "INSERT INTO transfers (idempotency_key, debit_account_id, credit_account_id, amount, kind, debit_balance_after, created_at) VALUES (@key, @wallet, @clearing, 2000000, @kind, -1000000, @at)",
            None, ("key", key), ("wallet", wallet.Id.Value), ("clearing", clearing.Id.Value), ("kind", kind), ("at", DateTimeOffset.UtcNow));

        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => InsertAsync("charge:by-hand", TransferKinds.Charge));
        await InsertAsync("stripe:dispute:by-hand", TransferKinds.Chargeback);

        Assert.NotNull(await _ledger.FindTransferAsync("stripe:dispute:by-hand", None));
        Assert.Null(await _ledger.FindTransferAsync("charge:by-hand", None));
    }

    [Fact]
    public async Task The_audit_finds_a_charge_that_left_a_wallet_below_zero_where_the_database_guard_was_lost()
    {
        var (clearing, wallet) = await FundedWalletAsync(Micros.FromUsd(1m));
        await using var connection = await _database.OpenAsync(None);
        await connection.ExecuteAsync(null, _database.Provider == StorageOptions.Postgres
            ? "ALTER TABLE transfers DROP CONSTRAINT transfers_only_take_backs_overdraw"
            : "DROP TRIGGER transfers_only_take_backs_overdraw", None);
        await connection.ExecuteAsync(null,
            "INSERT INTO transfers (idempotency_key, debit_account_id, credit_account_id, amount, kind, debit_balance_after, created_at) VALUES ('charge:by-hand', @wallet, @clearing, 2000000, 'charge', -1000000, @at)",
            None, ("wallet", wallet.Id.Value), ("clearing", clearing.Id.Value), ("at", DateTimeOffset.UtcNow));
        await connection.ExecuteAsync(null, "UPDATE accounts SET balance = -1000000 WHERE id = @id", None, ("id", wallet.Id.Value));

        var audit = await _ledger.AuditAsync(None);

        Assert.False(audit.Balanced);
        Assert.Contains(audit.Problems, p => p.Contains("charge:by-hand", StringComparison.Ordinal) && p.Contains("only a refund or chargeback", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Upgrading_a_ledger_with_money_in_it_across_the_schema_5_rebuild_keeps_every_account_transfer_and_reference()
    {
        await using var old = await CreateTestDatabaseAsync();
        await using var database = old.Open();
        await using (var connection = await database.OpenAsync(None))
        {
            var folder = database.Provider == StorageOptions.Postgres ? "Postgres" : "Sqlite";
            await connection.ExecuteAsync(null, folder == "Postgres"
                ? "CREATE TABLE schema_version (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)"
                : "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)", None);
            var assembly = typeof(SqlDatabase).Assembly;
            foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(folder + "/000", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Take(4))
            {
                using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
                await connection.ExecuteAsync(null, await reader.ReadToEndAsync(), None);
                await connection.ExecuteAsync(null, "INSERT INTO schema_version (version, name, applied_at) VALUES (@v, @n, @at)", None,
                    ("v", int.Parse(name[(folder.Length + 1)..(folder.Length + 5)], System.Globalization.CultureInfo.InvariantCulture)), ("n", name), ("at", DateTimeOffset.UtcNow));
            }
        }
        Assert.Equal(4, await database.GetSchemaVersionAsync(None));
        // This build's ledger counts spending in columns schema 4 lacks: they live only while the old money is written.
        string[] spendingColumns = ["spending_day text", "spent_day bigint NOT NULL DEFAULT 0", "spending_month text", "spent_month bigint NOT NULL DEFAULT 0"];
        await using (var writer = await database.OpenAsync(None))
        {
            foreach (var column in spendingColumns)
            {
                await writer.ExecuteAsync(null, $"ALTER TABLE accounts ADD COLUMN {column}", None);
            }
        }
        var ledger = new SqlLedger(database, TimeProvider.System);
        var clearing = await ledger.OpenAccountAsync(AccountCodes.RailClearing("stripe"), AccountKind.RailClearing, None);
        var wallets = new List<Account>();
        for (var i = 0; i < 3; i++)
        {
            var wallet = await ledger.OpenAccountAsync(AccountCodes.AgentWallet($"agent-{i}"), AccountKind.AgentWallet, None);
            await ledger.PostAsync(new TransferRequest($"deposit:{i}", clearing.Id, wallet.Id, Micros.FromUsd(i + 1), TransferKinds.Deposit), None);
            wallets.Add(wallet);
        }
        var before = await ledger.AuditAsync(None);
        await using (var writer = await database.OpenAsync(None))
        {
            foreach (var column in spendingColumns)
            {
                await writer.ExecuteAsync(null, $"ALTER TABLE accounts DROP COLUMN {column.Split(' ')[0]}", None);
            }
        }

        Assert.True(await database.MigrateAsync(None) >= 5);

        var after = await new SqlLedger(database, TimeProvider.System).AuditAsync(None);
        Assert.True(after.Balanced, string.Join(" ", after.Problems));
        Assert.Equal(before.TransferCount, after.TransferCount);
        Assert.Equal(before.Accounts.Select(a => (a.Id, a.Code, a.StoredBalance)), after.Accounts.Select(a => (a.Id, a.Code, a.StoredBalance)));
        // The transfers still refer to the rebuilt accounts, and a chargeback may now overdraw.
        var chargeback = await ledger.PostAsync(new TransferRequest("stripe:dispute:dp_old", wallets[0].Id, clearing.Id, Micros.FromUsd(3m), TransferKinds.Chargeback), None);
        Assert.Equal(Micros.FromUsd(-2m), chargeback.Transfers[0].DebitBalanceAfter);
        await using var check = await database.OpenAsync(None);
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => check.ExecuteAsync(null,
            "INSERT INTO transfers (idempotency_key, debit_account_id, credit_account_id, amount, kind, created_at) VALUES ('deposit:orphan', 999999, @clearing, 1, 'deposit', @at)",
            None, ("clearing", clearing.Id.Value), ("at", DateTimeOffset.UtcNow)));
    }

    [Fact]
    public async Task The_audit_finds_a_stored_balance_that_its_transfers_do_not_explain()
    {
        var (_, wallet) = await FundedWalletAsync(Micros.FromUsd(1m));
        await AssertAuditBalancedAsync();
        await using var connection = await _database.OpenAsync(None);
        await connection.ExecuteAsync(null, "UPDATE accounts SET balance = balance + 1 WHERE id = @id", None, ("id", wallet.Id.Value));

        var audit = await _ledger.AuditAsync(None);

        Assert.False(audit.Balanced);
        Assert.Contains(audit.Problems, p => p.Contains("wallet:agent-1", StringComparison.Ordinal));
        Assert.False(audit.Accounts.Single(a => a.Id == wallet.Id).StoredMatchesTransfers);
    }

    [Fact]
    public async Task A_wallet_statement_lists_its_movements_newest_first_with_the_balance_after_each()
    {
        var (clearing, wallet) = await FundedWalletAsync(Micros.FromUsd(1m));
        var publisher = await _ledger.OpenAccountAsync(AccountCodes.PublisherPayable("pub-1"), AccountKind.PublisherPayable, None);
        for (var i = 0; i < 5; i++)
        {
            await _ledger.PostAsync(new TransferRequest($"charge:{i}", wallet.Id, publisher.Id, Micros.FromUsd(0.1m), "charge"), None);
        }
        await _ledger.PostAsync(new TransferRequest("deposit:second", clearing.Id, wallet.Id, Micros.FromUsd(2m), "deposit"), None);

        var page1 = await _ledger.ListTransfersAsync(wallet.Id, 4, null, None);
        var page2 = await _ledger.ListTransfersAsync(wallet.Id, 4, page1[^1].Id, None);

        Assert.Equal(["deposit:second", "charge:4", "charge:3", "charge:2"], page1.Select(t => t.IdempotencyKey));
        Assert.Equal(["charge:1", "charge:0", "deposit:agent-1"], page2.Select(t => t.IdempotencyKey));
        Assert.Equal(Micros.FromUsd(2.5m), page1[0].CreditBalanceAfter);
        Assert.Equal(Micros.FromUsd(0.5m), page1[1].DebitBalanceAfter);
        Assert.Equal(Micros.FromUsd(1m), page2[^1].CreditBalanceAfter);
    }

    [Fact]
    public async Task Opening_an_account_twice_returns_the_same_account_and_refuses_another_kind()
    {
        var first = await _ledger.OpenAccountAsync("wallet:twice", AccountKind.AgentWallet, None);
        var again = await _ledger.OpenAccountAsync("wallet:twice", AccountKind.AgentWallet, None);

        Assert.Equal(first.Id, again.Id);
        await Assert.ThrowsAsync<InvalidOperationException>(() => _ledger.OpenAccountAsync("wallet:twice", AccountKind.Suspense, None));
    }

    [Fact]
    public async Task Migrating_again_or_from_two_instances_at_once_is_harmless()
    {
        await using var a = _testDatabase.Open();
        await using var b = _testDatabase.Open();

        var versions = await Task.WhenAll(a.MigrateAsync(None), b.MigrateAsync(None), _database.MigrateAsync(None));

        Assert.Single(versions.Distinct());
        Assert.Equal(versions[0], await _database.GetSchemaVersionAsync(None));
        await using var connection = await _database.OpenAsync(None);
        await using var count = connection.CreateCommand(null, "SELECT COUNT(*) FROM schema_version");
        Assert.Equal(versions[0], Convert.ToInt32(await count.ExecuteScalarAsync(None), System.Globalization.CultureInfo.InvariantCulture));
    }
}

public sealed class SqliteLedgerTests : LedgerContractTests
{
    protected override Task<ITestDatabase> CreateTestDatabaseAsync() => Task.FromResult<ITestDatabase>(new SqliteTestDatabase());
}

public sealed class PostgresLedgerTests : LedgerContractTests
{
    protected override async Task<ITestDatabase> CreateTestDatabaseAsync() => await PostgresTestDatabase.CreateAsync();
}
