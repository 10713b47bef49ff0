using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Ledger;

namespace Aisa.Settlement.Storage.Tests.Ledger;

/// <summary>
/// The real PostgreSQL server behind a proxy that loses the answer to a COMMIT after the server has committed: the
/// ledger must report what happened (posted), not a failure, and a retry must find it.
/// </summary>
public sealed class LedgerCommitFaultTests : IAsyncLifetime
{
    private PostgresTestDatabase _testDatabase = null!;
    private PostgresCommitProxy _proxy = null!;

    public async Task InitializeAsync()
    {
        _testDatabase = await PostgresTestDatabase.CreateAsync();
        await using var database = _testDatabase.Open();
        await database.MigrateAsync(CancellationToken.None);
        _proxy = PostgresCommitProxy.Start(_testDatabase.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _testDatabase.DisposeAsync();
    }

    [Fact]
    public async Task A_lone_batch_whose_commit_answer_was_lost_is_found_committed_and_reported_posted()
    {
        await using var database = new PostgresDatabase(_proxy.ConnectionString);
        var ledger = new SqlLedger(database, TimeProvider.System);
        var clearing = await ledger.OpenAccountAsync(AccountCodes.RailClearing("base"), AccountKind.RailClearing, CancellationToken.None);
        var wallet = await ledger.OpenAccountAsync(AccountCodes.AgentWallet("agent-1"), AccountKind.AgentWallet, CancellationToken.None);
        var deposit = new TransferRequest("deposit:base:0xabc#0", clearing.Id, wallet.Id, Micros.FromUsd(3m), TransferKinds.Deposit, "0xabc");

        _proxy.LoseNextCommitAnswer();
        var posted = await ledger.PostAsync(deposit, CancellationToken.None);
        var retried = await ledger.PostAsync(deposit, CancellationToken.None);

        Assert.Equal(1, _proxy.Lost);
        Assert.Equal(PostOutcome.Posted, posted.Outcome);
        Assert.Equal(PostOutcome.AlreadyPosted, retried.Outcome);
        Assert.Equal(posted.Transfers[0].Id, retried.Transfers[0].Id);
        Assert.Equal(Micros.FromUsd(3m), await ledger.GetBalanceAsync(wallet.Id, CancellationToken.None));
        var audit = await ledger.AuditAsync(CancellationToken.None);
        Assert.True(audit.Balanced, string.Join(" ", audit.Problems));
        Assert.Equal(1, audit.TransferCount);
    }
}
