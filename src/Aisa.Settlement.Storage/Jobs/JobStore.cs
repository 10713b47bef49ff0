using System.Globalization;

namespace Aisa.Settlement.Storage.Jobs;

/// <summary>
/// What the job engine (Hangfire) does not keep about the recurring jobs: the lease that lets one pass of a job run at a
/// time across every instance (Hangfire's own locks are never renewed), the operator's pause and requested run, and the
/// state of each job's last pass. The runs themselves are Hangfire's.
/// </summary>
public sealed class JobStore(SqlDatabase database, TimeProvider clock)
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    /// <summary>
    /// Takes the job's lease for one run, for <paramref name="duration"/>: the fence of this run (a new token), or null
    /// while any run, of this instance or another, holds an unexpired one. One statement, so two runs asking at once
    /// cannot both win. The token only ever grows, so a stalled run's fence never matches a later run's.
    /// </summary>
    public async Task<LeaseFence?> TryHoldAsync(string job, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            """
            INSERT INTO job_leases (job, owner, acquired_at, expires_at, token) VALUES (@job, @owner, @now, @expires, 1)
            ON CONFLICT (job) DO UPDATE SET owner = excluded.owner, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at,
                token = job_leases.token + 1
            WHERE job_leases.expires_at <= @now
            RETURNING owner, token
            """,
            ("job", job), ("owner", owner), ("now", now), ("expires", now + (long)duration.TotalMilliseconds));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) && reader.GetString(0) == owner ? new LeaseFence(job, owner, reader.GetInt64(1)) : null;
    }

    /// <summary>Extends the lease of a run still going; false when another run has taken the lease since (the run must stop).</summary>
    public async Task<bool> RenewAsync(LeaseFence fence, TimeSpan duration, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null,
            "UPDATE job_leases SET expires_at = @expires WHERE job = @job AND owner = @owner AND token = @token",
            cancellationToken, ("expires", clock.GetUtcNow().ToUnixTimeMilliseconds() + (long)duration.TotalMilliseconds),
            ("job", fence.Job), ("owner", fence.Owner), ("token", fence.Token)) == 1;
    }

    /// <summary>
    /// Gives the lease up at the end of a run, so the next tick takes it on whichever instance it lands. The row stays
    /// (expired now), so the next holder's token is higher than this one's.
    /// </summary>
    public async Task ReleaseAsync(LeaseFence fence, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "UPDATE job_leases SET expires_at = @now WHERE job = @job AND owner = @owner AND token = @token AND expires_at > @now",
            cancellationToken, ("now", now), ("job", fence.Job), ("owner", fence.Owner), ("token", fence.Token));
    }

    public async Task<IReadOnlyList<JobLease>> LeasesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null, "SELECT job, owner, acquired_at, expires_at FROM job_leases ORDER BY job");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var leases = new List<JobLease>();
        while (await reader.ReadAsync(cancellationToken))
        {
            leases.Add(new JobLease(reader.GetString(0), reader.GetString(1),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
        }
        return leases;
    }

    /// <summary>Records that a pass began (the caller holds the lease); its attempt counts the failures in a row before it.</summary>
    public async Task<JobStart> StartedAsync(string job, string instance, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            """
            INSERT INTO job_states (job, last_started_at, last_ended_at, last_outcome, last_instance, changed_at) VALUES (@job, @now, NULL, 'running', @instance, @now)
            ON CONFLICT (job) DO UPDATE SET last_started_at = excluded.last_started_at, last_ended_at = NULL, last_outcome = excluded.last_outcome,
                last_instance = excluded.last_instance, changed_at = excluded.changed_at
            RETURNING failures_in_a_row
            """,
            ("job", job), ("now", now.ToUnixTimeMilliseconds()), ("instance", instance));
        var failures = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        return new JobStart(job, instance, failures + 1, now);
    }

    /// <summary>Records a pass that succeeded, with its summary (JSON); the failures in a row start again from none.</summary>
    public async Task<DateTimeOffset> SucceededAsync(string job, string summary, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            """
            UPDATE job_states SET last_ended_at = @now, last_outcome = 'succeeded', last_error = NULL, last_success_at = @now, last_summary = @summary,
                failures_in_a_row = 0, changed_at = @now
            WHERE job = @job
            """,
            cancellationToken, ("now", now.ToUnixTimeMilliseconds()), ("summary", summary), ("job", job));
        return now;
    }

    /// <summary>Records a pass that failed, with why, and counts it in its hour.</summary>
    public async Task<DateTimeOffset> FailedAsync(string job, string error, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var millis = now.ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        await connection.ExecuteAsync(transaction,
            """
            UPDATE job_states SET last_ended_at = @now, last_outcome = 'failed', last_error = @error, failures_in_a_row = failures_in_a_row + 1, changed_at = @now
            WHERE job = @job
            """,
            cancellationToken, ("now", millis), ("error", error), ("job", job));
        await connection.ExecuteAsync(transaction,
            """
            INSERT INTO job_failure_hours (job, hour, failures) VALUES (@job, @hour, 1)
            ON CONFLICT (job, hour) DO UPDATE SET failures = job_failure_hours.failures + 1
            """,
            cancellationToken, ("job", job), ("hour", millis - millis % (long)Hour.TotalMilliseconds));
        await transaction.CommitAsync(cancellationToken);
        return now;
    }

    /// <summary>Every job that has a state, with its failures in the hours from the one holding <paramref name="failuresSince"/>.</summary>
    public async Task<IReadOnlyList<JobState>> StatesAsync(DateTimeOffset failuresSince, CancellationToken cancellationToken)
    {
        var since = failuresSince.ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            """
            SELECT s.job, s.paused, s.run_requested_at, s.last_started_at, s.last_ended_at, s.last_outcome, s.last_instance, s.last_error,
                s.last_success_at, s.last_summary, s.failures_in_a_row,
                (SELECT COALESCE(SUM(f.failures), 0) FROM job_failure_hours f WHERE f.job = s.job AND f.hour >= @since)
            FROM job_states s ORDER BY s.job
            """,
            ("since", since - since % (long)Hour.TotalMilliseconds));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var states = new List<JobState>();
        while (await reader.ReadAsync(cancellationToken))
        {
            states.Add(new JobState(reader.GetString(0), reader.GetBoolean(1), !reader.IsDBNull(2), Instant(reader, 3), Instant(reader, 4),
                reader.GetNullableString(5) is { } outcome ? Parse(outcome) : null, reader.GetNullableString(6), reader.GetNullableString(7),
                Instant(reader, 8), reader.GetNullableString(9), Convert.ToInt32(reader.GetValue(10), CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(11), CultureInfo.InvariantCulture)));
        }
        return states;
    }

    /// <summary>Pauses or resumes a job on every instance: a tick of a paused job runs nothing (a requested run still runs).</summary>
    public async Task SetPausedAsync(string job, bool paused, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "INSERT INTO job_states (job, paused, changed_at) VALUES (@job, @paused, @now) ON CONFLICT (job) DO UPDATE SET paused = excluded.paused, changed_at = excluded.changed_at",
            cancellationToken, ("job", job), ("paused", paused), ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()));
    }

    /// <summary>Asks for one run of the job: the next pass to take its lease runs, paused or not, and takes the request.</summary>
    public async Task RequestRunAsync(string job, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            """
            INSERT INTO job_states (job, run_requested_at, changed_at) VALUES (@job, @now, @now)
            ON CONFLICT (job) DO UPDATE SET run_requested_at = excluded.run_requested_at, changed_at = excluded.changed_at
            """,
            cancellationToken, ("job", job), ("now", now));
    }

    /// <summary>Takes the job's requested run, if there is one: true for exactly one caller per request.</summary>
    public async Task<bool> TakeRunRequestAsync(string job, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null,
            "UPDATE job_states SET run_requested_at = NULL WHERE job = @job AND run_requested_at IS NOT NULL",
            cancellationToken, ("job", job)) == 1;
    }

    /// <summary>What an operator asked of one job, in one read: every tick asks this first.</summary>
    public async Task<JobControl> ControlAsync(string job, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null, "SELECT paused, run_requested_at FROM job_states WHERE job = @job", ("job", job));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new JobControl(reader.GetBoolean(0), !reader.IsDBNull(1)) : new JobControl(false, false);
    }

    /// <summary>Deletes the failure counts of hours before <paramref name="before"/>; returns how many hours were deleted.</summary>
    public async Task<int> PruneFailureHoursAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.DeleteInBatchesAsync("job_failure_hours", "job, hour", "hour < @before", cancellationToken, ("before", before.ToUnixTimeMilliseconds()));
    }

    public static string Wire(JobOutcome outcome) => outcome.ToString().ToLowerInvariant();

    public static JobOutcome Parse(string text) => Enum.Parse<JobOutcome>(text, ignoreCase: true);

    private static DateTimeOffset? Instant(System.Data.Common.DbDataReader reader, int ordinal) =>
        reader.GetNullableInt64(ordinal) is { } millis ? DateTimeOffset.FromUnixTimeMilliseconds(millis) : null;
}
