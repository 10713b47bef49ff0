namespace Aisa.Settlement.Storage.Jobs;

public enum JobOutcome
{
    Running,
    Succeeded,
    Failed,
}

public sealed record JobRun(long Id, string Job, string Instance, int Attempt, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, JobOutcome Outcome, string? Error, string? Summary);

/// <param name="LastSuccess">The newest succeeded run; its summary holds the head block a watcher saw.</param>
public sealed record JobHealth(string Job, JobRun LastRun, JobRun? LastSuccess, long FailuresSince);

/// <param name="RunRequested">An operator asked for a run that no instance has taken yet.</param>
public sealed record JobControl(bool Paused, bool RunRequested);

public sealed record ServiceInstanceBeat(string Id, string Host, DateTimeOffset StartedAt, DateTimeOffset HeartbeatAt);

public sealed record JobLease(string Job, string Owner, DateTimeOffset AcquiredAt, DateTimeOffset ExpiresAt);

/// <summary>
/// One run's hold on its job's lease: the writes only the holder may make (a watcher's cursor) name it, and are refused
/// once another run has taken the lease.
/// </summary>
public sealed record LeaseFence(string Job, string Owner, long Token);

/// <summary>
/// Which instance runs each recurring job (a lease in the shared database, renewed by its holder and taken over
/// once it expires), and the history of every run: start, end, outcome, error, attempt.
/// </summary>
public sealed class JobStore(SqlDatabase database, TimeProvider clock)
{
    /// <summary>
    /// Takes the job's lease for one run, for <paramref name="duration"/>: the fence of this run (a new token), or null
    /// while another instance holds an unexpired one. One statement, so two instances asking at once cannot both win.
    /// </summary>
    public async Task<LeaseFence?> TryHoldAsync(string job, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            """
            INSERT INTO job_leases (job, owner, acquired_at, expires_at, token) VALUES (@job, @owner, @now, @expires, 1)
            ON CONFLICT (job) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, token = job_leases.token + 1,
                acquired_at = CASE WHEN job_leases.owner = excluded.owner THEN job_leases.acquired_at ELSE excluded.acquired_at END
            WHERE job_leases.owner = excluded.owner OR job_leases.expires_at <= @now
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

    /// <summary>Gives the lease up (on a clean stop), so another instance takes the job over at once.</summary>
    public async Task ReleaseAsync(string job, string owner, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, "DELETE FROM job_leases WHERE job = @job AND owner = @owner", cancellationToken, ("job", job), ("owner", owner));
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

    /// <summary>Runs of the job still "running" on another instance: that instance died during them (the caller holds the lease now).</summary>
    public async Task<int> AbandonOthersAsync(string job, string instance, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null,
            "UPDATE job_runs SET outcome = 'failed', ended_at = @now, error = 'The instance running it stopped before the run ended.' WHERE job = @job AND outcome = 'running' AND instance <> @instance",
            cancellationToken, ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()), ("job", job), ("instance", instance));
    }

    /// <summary>Records a run's start. Its attempt counts the failures in a row before it: 1 after a success.</summary>
    public async Task<JobRun> StartAsync(string job, string instance, CancellationToken cancellationToken)
    {
        var previous = (await RunsAsync(job, null, null, 1, cancellationToken)).FirstOrDefault();
        var attempt = previous is { Outcome: JobOutcome.Failed } ? previous.Attempt + 1 : 1;
        var now = clock.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "INSERT INTO job_runs (job, instance, attempt, started_at, outcome) VALUES (@job, @instance, @attempt, @now, 'running') RETURNING id",
            ("job", job), ("instance", instance), ("attempt", attempt), ("now", now.ToUnixTimeMilliseconds()));
        var id = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        return new JobRun(id, job, instance, attempt, now, null, JobOutcome.Running, null, null);
    }

    public async Task FinishAsync(JobRun run, JobOutcome outcome, string? error, string? summary, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "UPDATE job_runs SET ended_at = @now, outcome = @outcome, error = @error, summary = @summary WHERE id = @id",
            cancellationToken, ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()), ("outcome", Wire(outcome)), ("error", error), ("summary", summary), ("id", run.Id));
    }

    /// <summary>Runs newest first, of one job and one outcome if given.</summary>
    public async Task<IReadOnlyList<JobRun>> RunsAsync(string? job, JobOutcome? outcome, long? beforeId, int limit, CancellationToken cancellationToken)
    {
        var conditions = new List<string> { "1 = 1" };
        var parameters = new List<(string, object?)> { ("limit", limit) };
        if (job is not null)
        {
            conditions.Add("job = @job");
            parameters.Add(("job", job));
        }
        if (outcome is { } wanted)
        {
            conditions.Add("outcome = @outcome");
            parameters.Add(("outcome", Wire(wanted)));
        }
        if (beforeId is { } before)
        {
            conditions.Add("id < @before");
            parameters.Add(("before", before));
        }
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            $"SELECT id, job, instance, attempt, started_at, ended_at, outcome, error, summary FROM job_runs WHERE {string.Join(" AND ", conditions)} ORDER BY id DESC LIMIT @limit",
            [.. parameters]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var runs = new List<JobRun>();
        while (await reader.ReadAsync(cancellationToken))
        {
            runs.Add(new JobRun(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                reader.GetNullableInt64(5) is { } ended ? DateTimeOffset.FromUnixTimeMilliseconds(ended) : null,
                Parse(reader.GetString(6)), reader.GetNullableString(7), reader.GetNullableString(8)));
        }
        return runs;
    }

    /// <summary>Pauses or resumes a job on every instance: a leased run of a paused job is skipped.</summary>
    public async Task SetPausedAsync(string job, bool paused, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "INSERT INTO job_controls (job, paused, changed_at) VALUES (@job, @paused, @now) ON CONFLICT (job) DO UPDATE SET paused = excluded.paused, changed_at = excluded.changed_at",
            cancellationToken, ("job", job), ("paused", paused), ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()));
    }

    /// <summary>Asks for one run of the job by whichever instance holds its lease, paused or not.</summary>
    public async Task RequestRunAsync(string job, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            """
            INSERT INTO job_controls (job, paused, run_requested_at, changed_at) VALUES (@job, @paused, @now, @now)
            ON CONFLICT (job) DO UPDATE SET run_requested_at = excluded.run_requested_at, changed_at = excluded.changed_at
            """,
            cancellationToken, ("job", job), ("paused", false), ("now", now));
    }

    /// <summary>Takes the job's requested run, if there is one: true for exactly one caller per request.</summary>
    public async Task<bool> TakeRunRequestAsync(string job, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null,
            "UPDATE job_controls SET run_requested_at = NULL WHERE job = @job AND run_requested_at IS NOT NULL",
            cancellationToken, ("job", job)) == 1;
    }

    /// <summary>What an operator asked of one job, in one read: the watchers' loop asks this every tick.</summary>
    public async Task<JobControl> ControlAsync(string job, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null, "SELECT paused, run_requested_at FROM job_controls WHERE job = @job", ("job", job));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new JobControl(reader.GetBoolean(0), !reader.IsDBNull(1)) : new JobControl(false, false);
    }

    public async Task<IReadOnlySet<string>> PausedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null, "SELECT job FROM job_controls WHERE paused = @paused", ("paused", true));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var paused = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            paused.Add(reader.GetString(0));
        }
        return paused;
    }

    /// <summary>This instance is alive: its row is written now (and created on its first beat).</summary>
    public async Task BeatAsync(string instance, string host, DateTimeOffset startedAt, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "INSERT INTO service_instances (id, host, started_at, heartbeat_at) VALUES (@id, @host, @started, @now) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
            cancellationToken, ("id", instance), ("host", host), ("started", startedAt.ToUnixTimeMilliseconds()), ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()));
    }

    /// <summary>Instances whose last beat is newer than <paramref name="since"/>, newest start first.</summary>
    public async Task<IReadOnlyList<ServiceInstanceBeat>> InstancesAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "SELECT id, host, started_at, heartbeat_at FROM service_instances WHERE heartbeat_at >= @since ORDER BY started_at DESC", ("since", since.ToUnixTimeMilliseconds()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var instances = new List<ServiceInstanceBeat>();
        while (await reader.ReadAsync(cancellationToken))
        {
            instances.Add(new ServiceInstanceBeat(reader.GetString(0), reader.GetString(1),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
        }
        return instances;
    }

    /// <summary>Per job: its last run and last success, and its failures since <paramref name="since"/>.</summary>
    public async Task<IReadOnlyList<JobHealth>> HealthAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var summaries = new List<(string Job, long LastId, long? LastSuccessId, long Failures)>();
        await using (var command = connection.CreateCommand(null,
            """
            SELECT job, MAX(id), MAX(CASE WHEN outcome = 'succeeded' THEN id END), SUM(CASE WHEN outcome = 'failed' AND started_at >= @since THEN 1 ELSE 0 END)
            FROM job_runs GROUP BY job ORDER BY job
            """, ("since", since.ToUnixTimeMilliseconds())))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                summaries.Add((reader.GetString(0), reader.GetInt64(1), reader.GetNullableInt64(2), Convert.ToInt64(reader.GetValue(3), System.Globalization.CultureInfo.InvariantCulture)));
            }
        }
        var health = new List<JobHealth>();
        foreach (var (job, lastId, lastSuccessId, failures) in summaries)
        {
            var last = (await RunsAsync(job, null, lastId + 1, 1, cancellationToken))[0];
            var success = lastSuccessId == lastId ? last : lastSuccessId is { } id ? (await RunsAsync(job, null, id + 1, 1, cancellationToken))[0] : null;
            health.Add(new JobHealth(job, last, success, failures));
        }
        return health;
    }

    /// <summary>
    /// Deletes finished runs that started before <paramref name="before"/>, in batches, keeping each job's last run
    /// (its attempt count follows from it) and last success (the dashboard's and readiness' "last success").
    /// Returns how many were deleted.
    /// </summary>
    public async Task<int> PruneRunsAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.DeleteInBatchesAsync("job_runs", "id",
            """
            started_at < @before AND outcome <> 'running'
            AND id NOT IN (SELECT MAX(id) FROM job_runs GROUP BY job)
            AND id NOT IN (SELECT MAX(id) FROM job_runs WHERE outcome = 'succeeded' GROUP BY job)
            """,
            cancellationToken, ("before", before.ToUnixTimeMilliseconds()));
    }

    public static string Wire(JobOutcome outcome) => outcome.ToString().ToLowerInvariant();

    public static JobOutcome Parse(string text) => Enum.Parse<JobOutcome>(text, ignoreCase: true);
}
