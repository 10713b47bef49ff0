using Aisa.Settlement.Storage.Jobs;

namespace Aisa.Settlement.Storage.Tests.Jobs;

/// <summary>The lease that puts each watcher on one instance, and the run history, on both stores.</summary>
public abstract class JobStoreTests : IAsyncLifetime
{
    private ITestDatabase _testDatabase = null!;
    private SqlDatabase _database = null!;
    private readonly ManualClock _clock = new();
    private JobStore _jobs = null!;

    protected abstract Task<ITestDatabase> CreateTestDatabaseAsync();

    public async Task InitializeAsync()
    {
        _testDatabase = await CreateTestDatabaseAsync();
        _database = _testDatabase.Open();
        await _database.MigrateAsync(CancellationToken.None);
        _jobs = new JobStore(_database, _clock);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        await _testDatabase.DisposeAsync();
    }

    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_lease_stays_with_its_holder_while_renewed_and_moves_once_it_expires_or_is_given_up()
    {
        Assert.NotNull(await _jobs.TryHoldAsync("watch:base", "a", Lease, CancellationToken.None));
        Assert.Null(await _jobs.TryHoldAsync("watch:base", "b", Lease, CancellationToken.None));
        Assert.NotNull(await _jobs.TryHoldAsync("watch:polygon", "b", Lease, CancellationToken.None));

        _clock.Advance(TimeSpan.FromSeconds(9));
        Assert.NotNull(await _jobs.TryHoldAsync("watch:base", "a", Lease, CancellationToken.None));
        _clock.Advance(TimeSpan.FromSeconds(9));
        // Renewed at 9 s, so still a's at 18 s.
        Assert.Null(await _jobs.TryHoldAsync("watch:base", "b", Lease, CancellationToken.None));

        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.NotNull(await _jobs.TryHoldAsync("watch:base", "b", Lease, CancellationToken.None));
        Assert.Null(await _jobs.TryHoldAsync("watch:base", "a", Lease, CancellationToken.None));

        await _jobs.ReleaseAsync("watch:base", "a", CancellationToken.None);
        Assert.Null(await _jobs.TryHoldAsync("watch:base", "a", Lease, CancellationToken.None));
        await _jobs.ReleaseAsync("watch:base", "b", CancellationToken.None);
        Assert.NotNull(await _jobs.TryHoldAsync("watch:base", "a", Lease, CancellationToken.None));
        Assert.Equal(["a", "b"], (await _jobs.LeasesAsync(CancellationToken.None)).Select(l => l.Owner));
    }

    [Fact]
    public async Task Only_the_run_holding_the_lease_moves_the_cursor_and_a_renewal_keeps_it_past_its_length()
    {
        var deposits = new Deposits.DepositStore(_database, _clock);
        var first = (await _jobs.TryHoldAsync("watch:base", "a", Lease, CancellationToken.None))!;
        Assert.True(await deposits.SaveCursorAsync("base", "100", 99, first, CancellationToken.None));

        // Renewed while it runs, the lease outlives its length.
        _clock.Advance(TimeSpan.FromSeconds(8));
        Assert.True(await _jobs.RenewAsync(first, Lease, CancellationToken.None));
        _clock.Advance(TimeSpan.FromSeconds(8));
        Assert.Null(await _jobs.TryHoldAsync("watch:base", "b", Lease, CancellationToken.None));
        Assert.True(await deposits.SaveCursorAsync("base", "200", 199, first, CancellationToken.None));

        // Unrenewed, it lapses; another run takes it, and the stalled one can neither renew nor move the cursor back.
        _clock.Advance(TimeSpan.FromSeconds(11));
        var second = (await _jobs.TryHoldAsync("watch:base", "b", Lease, CancellationToken.None))!;
        Assert.True(await deposits.SaveCursorAsync("base", "300", 299, second, CancellationToken.None));
        Assert.False(await _jobs.RenewAsync(first, Lease, CancellationToken.None));
        Assert.False(await deposits.SaveCursorAsync("base", "150", 149, first, CancellationToken.None));
        // A new run of the same instance has a new token: the fence is the run, not the instance.
        _clock.Advance(TimeSpan.FromSeconds(11));
        var third = (await _jobs.TryHoldAsync("watch:base", "b", Lease, CancellationToken.None))!;
        Assert.NotEqual(second.Token, third.Token);
        Assert.False(await deposits.SaveCursorAsync("base", "250", 249, second, CancellationToken.None));

        Assert.Equal("300", await deposits.CursorAsync("base", CancellationToken.None));
    }

    [Fact]
    public async Task Many_instances_asking_at_once_give_the_lease_to_exactly_one()
    {
        var winners = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            Task.Run(() => _jobs.TryHoldAsync("watch:bnb", $"instance-{i}", Lease, CancellationToken.None))));

        Assert.Single(winners, won => won is not null);
    }

    [Fact]
    public async Task Attempts_count_failures_in_a_row_and_a_dead_instance_runs_end_as_failed()
    {
        var first = await _jobs.StartAsync("watch:base", "a", CancellationToken.None);
        await _jobs.FinishAsync(first, JobOutcome.Failed, "HTTP 500", null, CancellationToken.None);
        var second = await _jobs.StartAsync("watch:base", "a", CancellationToken.None);
        await _jobs.FinishAsync(second, JobOutcome.Failed, "HTTP 500", null, CancellationToken.None);
        var third = await _jobs.StartAsync("watch:base", "a", CancellationToken.None);
        await _jobs.FinishAsync(third, JobOutcome.Succeeded, null, "{}", CancellationToken.None);
        var fourth = await _jobs.StartAsync("watch:base", "a", CancellationToken.None);
        Assert.Equal([1, 2, 3, 1], new[] { first, second, third, fourth }.Select(r => r.Attempt));

        // Instance a died during its fourth run; b takes over.
        Assert.Equal(1, await _jobs.AbandonOthersAsync("watch:base", "b", CancellationToken.None));
        Assert.Equal(0, await _jobs.AbandonOthersAsync("watch:base", "a", CancellationToken.None));

        var runs = await _jobs.RunsAsync("watch:base", null, null, 10, CancellationToken.None);
        Assert.Equal([JobOutcome.Failed, JobOutcome.Succeeded, JobOutcome.Failed, JobOutcome.Failed], runs.Select(r => r.Outcome));
        Assert.Contains("stopped", runs[0].Error, StringComparison.Ordinal);
        Assert.Equal(2, (await _jobs.RunsAsync("watch:base", JobOutcome.Failed, runs[0].Id, 10, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task A_pause_holds_on_every_instance_and_a_requested_run_is_taken_exactly_once()
    {
        await _jobs.SetPausedAsync("watch:base", true, CancellationToken.None);
        Assert.Equal(["watch:base"], await _jobs.PausedAsync(CancellationToken.None));
        Assert.False(await _jobs.TakeRunRequestAsync("watch:base", CancellationToken.None));

        await _jobs.RequestRunAsync("watch:base", CancellationToken.None);
        await _jobs.RequestRunAsync("watch:base", CancellationToken.None);
        var takers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => _jobs.TakeRunRequestAsync("watch:base", CancellationToken.None)));

        Assert.Equal(1, takers.Count(taken => taken));
        // Asking for a run does not resume the job; resuming does.
        Assert.Contains("watch:base", await _jobs.PausedAsync(CancellationToken.None));
        await _jobs.SetPausedAsync("watch:base", false, CancellationToken.None);
        Assert.Empty(await _jobs.PausedAsync(CancellationToken.None));
        await _jobs.RequestRunAsync("watch:polygon", CancellationToken.None);
        Assert.Empty(await _jobs.PausedAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Instances_are_listed_while_their_heartbeat_is_recent()
    {
        var started = _clock.GetUtcNow();
        await _jobs.BeatAsync("a", "host-1", started, CancellationToken.None);
        await _jobs.BeatAsync("b", "host-2", started, CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(50));
        await _jobs.BeatAsync("a", "host-1", started, CancellationToken.None);

        var alive = await _jobs.InstancesAsync(_clock.GetUtcNow() - TimeSpan.FromSeconds(30), CancellationToken.None);

        var instance = Assert.Single(alive);
        Assert.Equal(("a", "host-1", started, _clock.GetUtcNow()), (instance.Id, instance.Host, instance.StartedAt, instance.HeartbeatAt));
    }

    [Fact]
    public async Task Pruning_deletes_old_finished_runs_but_keeps_each_jobs_last_run_and_last_success()
    {
        async Task<JobRun> RunAsync(string job, JobOutcome outcome)
        {
            var run = await _jobs.StartAsync(job, "a", CancellationToken.None);
            await _jobs.FinishAsync(run, outcome, outcome == JobOutcome.Failed ? "node down" : null, null, CancellationToken.None);
            _clock.Advance(TimeSpan.FromMinutes(1));
            return run;
        }
        for (var i = 0; i < 5; i++)
        {
            await RunAsync("watch:base", JobOutcome.Succeeded);
        }
        var lastBaseSuccess = await RunAsync("watch:base", JobOutcome.Succeeded);
        for (var i = 0; i < 3; i++)
        {
            await RunAsync("watch:base", JobOutcome.Failed);
        }
        var polygonOnly = await RunAsync("watch:polygon", JobOutcome.Succeeded);
        var stillRunning = await _jobs.StartAsync("watch:polygon", "b", CancellationToken.None);
        _clock.Advance(TimeSpan.FromDays(8));
        var recent = await RunAsync("watch:base", JobOutcome.Failed);

        var deleted = await _jobs.PruneRunsAsync(_clock.GetUtcNow() - TimeSpan.FromDays(7), CancellationToken.None);

        var left = (await _jobs.RunsAsync(null, null, null, 100, CancellationToken.None)).Select(r => r.Id).Order().ToList();
        // Five older successes and the three failures of watch:base; its last success and polygon's stay.
        Assert.Equal(8, deleted);
        Assert.Equal(new[] { lastBaseSuccess.Id, polygonOnly.Id, stillRunning.Id, recent.Id }.Order(), left);
        // The failures in a row still count on from the kept last run (attempts 1–3, then 4): the next is attempt 5.
        Assert.Equal(5, (await _jobs.StartAsync("watch:base", "a", CancellationToken.None)).Attempt);
        Assert.Equal(0, await _jobs.PruneRunsAsync(_clock.GetUtcNow() - TimeSpan.FromDays(7), CancellationToken.None));
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}

public sealed class SqliteJobStoreTests : JobStoreTests
{
    protected override Task<ITestDatabase> CreateTestDatabaseAsync() => Task.FromResult<ITestDatabase>(new SqliteTestDatabase());
}

public sealed class PostgresJobStoreTests : JobStoreTests
{
    protected override async Task<ITestDatabase> CreateTestDatabaseAsync() => await PostgresTestDatabase.CreateAsync();
}
