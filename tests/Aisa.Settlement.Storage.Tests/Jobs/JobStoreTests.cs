using Aisa.Settlement.Storage.Jobs;

namespace Aisa.Settlement.Storage.Tests.Jobs;

/// <summary>The lease that lets one pass of a job run at a time on any instance, the operator's controls, and each job's state, on both stores.</summary>
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
    public async Task A_lease_is_held_by_one_run_at_a_time_of_any_instance_until_it_is_given_up_or_expires()
    {
        var first = await _jobs.TryHoldAsync("watch:base", "a", Lease, CancellationToken.None);
        Assert.NotNull(first);
        // Another run, of another instance or of the same one (a second worker), waits for it.
        Assert.Null(await _jobs.TryHoldAsync("watch:base", "b", Lease, CancellationToken.None));
        Assert.Null(await _jobs.TryHoldAsync("watch:base", "a", Lease, CancellationToken.None));
        Assert.NotNull(await _jobs.TryHoldAsync("watch:polygon", "b", Lease, CancellationToken.None));

        _clock.Advance(TimeSpan.FromSeconds(9));
        Assert.True(await _jobs.RenewAsync(first, Lease, CancellationToken.None));
        _clock.Advance(TimeSpan.FromSeconds(9));
        // Renewed at 9 s, so still held at 18 s.
        Assert.Null(await _jobs.TryHoldAsync("watch:base", "b", Lease, CancellationToken.None));

        await _jobs.ReleaseAsync(first, CancellationToken.None);
        var second = await _jobs.TryHoldAsync("watch:base", "b", Lease, CancellationToken.None);
        Assert.NotNull(second);
        Assert.True(second.Token > first.Token);
        // Giving up a lease that another run holds now changes nothing.
        await _jobs.ReleaseAsync(first, CancellationToken.None);
        Assert.Null(await _jobs.TryHoldAsync("watch:base", "a", Lease, CancellationToken.None));

        // Never given up (its instance died), it lapses.
        _clock.Advance(Lease);
        var third = await _jobs.TryHoldAsync("watch:base", "a", Lease, CancellationToken.None);
        Assert.NotNull(third);
        Assert.True(third.Token > second.Token);
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
        // A later run of the same instance has a new token: the fence is the run, not the instance.
        await _jobs.ReleaseAsync(second, CancellationToken.None);
        var third = (await _jobs.TryHoldAsync("watch:base", "b", Lease, CancellationToken.None))!;
        Assert.NotEqual(second.Token, third.Token);
        Assert.False(await deposits.SaveCursorAsync("base", "250", 249, second, CancellationToken.None));

        Assert.Equal("300", await deposits.CursorAsync("base", CancellationToken.None));
    }

    [Fact]
    public async Task Many_runs_asking_at_once_give_the_lease_to_exactly_one()
    {
        var winners = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            Task.Run(() => _jobs.TryHoldAsync("watch:bnb", $"instance-{i % 2}", Lease, CancellationToken.None))));

        Assert.Single(winners, won => won is not null);
    }

    [Fact]
    public async Task A_jobs_state_counts_failures_in_a_row_and_per_hour_and_keeps_the_last_successful_summary()
    {
        var first = await _jobs.StartedAsync("watch:base", "a", CancellationToken.None);
        await _jobs.FailedAsync("watch:base", "HTTP 500", CancellationToken.None);
        var second = await _jobs.StartedAsync("watch:base", "a", CancellationToken.None);
        await _jobs.FailedAsync("watch:base", "HTTP 502", CancellationToken.None);
        var third = await _jobs.StartedAsync("watch:base", "b", CancellationToken.None);
        await _jobs.SucceededAsync("watch:base", """{"head":42}""", CancellationToken.None);
        _clock.Advance(TimeSpan.FromHours(30));
        var fourth = await _jobs.StartedAsync("watch:base", "b", CancellationToken.None);

        Assert.Equal([1, 2, 3, 1], new[] { first, second, third, fourth }.Select(r => r.Attempt));
        var running = Assert.Single(await _jobs.StatesAsync(_clock.GetUtcNow().AddDays(-1), CancellationToken.None));
        Assert.Equal((JobOutcome.Running, "b", null, 0L), (running.LastOutcome, running.LastInstance, running.LastEndedAt, running.FailuresSince));
        Assert.Equal("""{"head":42}""", running.LastSummary);
        Assert.Equal(_clock.GetUtcNow().AddHours(-30), running.LastSuccessAt);

        await _jobs.FailedAsync("watch:base", "node down", CancellationToken.None);
        var failed = Assert.Single(await _jobs.StatesAsync(_clock.GetUtcNow().AddDays(-1), CancellationToken.None));
        Assert.Equal((JobOutcome.Failed, "node down", 1, 1L), (failed.LastOutcome, failed.LastError, failed.FailuresInARow, failed.FailuresSince));
        // The two failures of 30 h ago count since then, and only the latest in the last day.
        Assert.Equal(3, Assert.Single(await _jobs.StatesAsync(_clock.GetUtcNow().AddDays(-2), CancellationToken.None)).FailuresSince);
        Assert.Equal("""{"head":42}""", failed.LastSummary);

        Assert.Equal(1, await _jobs.PruneFailureHoursAsync(_clock.GetUtcNow().AddDays(-1), CancellationToken.None));
        Assert.Equal(1, Assert.Single(await _jobs.StatesAsync(_clock.GetUtcNow().AddDays(-2), CancellationToken.None)).FailuresSince);
    }

    [Fact]
    public async Task A_pause_holds_on_every_instance_and_a_requested_run_is_taken_exactly_once()
    {
        Assert.Equal(new JobControl(false, false), await _jobs.ControlAsync("watch:base", CancellationToken.None));
        await _jobs.SetPausedAsync("watch:base", true, CancellationToken.None);
        Assert.Equal(new JobControl(true, false), await _jobs.ControlAsync("watch:base", CancellationToken.None));
        Assert.False(await _jobs.TakeRunRequestAsync("watch:base", CancellationToken.None));

        await _jobs.RequestRunAsync("watch:base", CancellationToken.None);
        await _jobs.RequestRunAsync("watch:base", CancellationToken.None);
        Assert.Equal(new JobControl(true, true), await _jobs.ControlAsync("watch:base", CancellationToken.None));
        var takers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => _jobs.TakeRunRequestAsync("watch:base", CancellationToken.None)));

        Assert.Equal(1, takers.Count(taken => taken));
        // Asking for a run does not resume the job; resuming does.
        Assert.Equal(new JobControl(true, false), await _jobs.ControlAsync("watch:base", CancellationToken.None));
        await _jobs.SetPausedAsync("watch:base", false, CancellationToken.None);
        await _jobs.RequestRunAsync("watch:polygon", CancellationToken.None);
        var states = await _jobs.StatesAsync(_clock.GetUtcNow(), CancellationToken.None);
        Assert.Equal([("watch:base", false, false), ("watch:polygon", false, true)], states.Select(s => (s.Job, s.Paused, s.RunRequested)));
    }

    [Fact]
    public async Task Upgrading_keeps_each_jobs_pause_and_last_success_from_the_run_history_it_replaces()
    {
        await using var upgraded = await CreateTestDatabaseAsync();
        await using var database = upgraded.Open();
        await database.MigrateAsync(13, CancellationToken.None);
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync(null,
                """
                INSERT INTO job_runs (job, instance, attempt, started_at, ended_at, outcome, error, summary) VALUES
                    ('watch:base', 'a', 1, 1000, 2000, 'succeeded', NULL, '{"head":7}'),
                    ('watch:base', 'a', 1, 3000, 4000, 'succeeded', NULL, '{"head":9}'),
                    ('watch:base', 'a', 1, 5000, 6000, 'failed', 'node down', NULL),
                    ('watch:polygon', 'a', 1, 5000, NULL, 'running', NULL, NULL)
                """, CancellationToken.None);
            await connection.ExecuteAsync(null, "INSERT INTO job_controls (job, paused, run_requested_at, changed_at) VALUES ('watch:polygon', @paused, NULL, 10)",
                CancellationToken.None, ("paused", true));
        }

        await database.MigrateAsync(CancellationToken.None);

        var states = await new JobStore(database, _clock).StatesAsync(_clock.GetUtcNow(), CancellationToken.None);
        Assert.Equal(
            [("watch:base", false, (DateTimeOffset?)DateTimeOffset.FromUnixTimeMilliseconds(4000), """{"head":9}"""), ("watch:polygon", true, null, null)],
            states.Select(s => (s.Job, s.Paused, s.LastSuccessAt, s.LastSummary)));
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
