namespace Aisa.Settlement.Storage.Jobs;

public enum JobOutcome
{
    Running,
    Succeeded,
    Failed,
}

public sealed record JobRun(long Id, string Job, string Instance, int Attempt, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, JobOutcome Outcome, string? Error, string? Summary);

public sealed record JobLease(string Job, string Owner, DateTimeOffset AcquiredAt, DateTimeOffset ExpiresAt);

/// <summary>
/// Which instance runs each recurring job (a lease in the shared database, renewed by its holder and taken over
/// once it expires), and the history of every run: start, end, outcome, error, attempt.
/// </summary>
public sealed class JobStore(SqlDatabase database, TimeProvider clock)
{
    /// <summary>
    /// Takes or renews the job's lease for <paramref name="duration"/>; false while another instance holds an
    /// unexpired one. One statement, so two instances asking at once cannot both win.
    /// </summary>
    public async Task<bool> TryHoldAsync(string job, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            """
            INSERT INTO job_leases (job, owner, acquired_at, expires_at) VALUES (@job, @owner, @now, @expires)
            ON CONFLICT (job) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
                acquired_at = CASE WHEN job_leases.owner = excluded.owner THEN job_leases.acquired_at ELSE excluded.acquired_at END
            WHERE job_leases.owner = excluded.owner OR job_leases.expires_at <= @now
            RETURNING owner
            """,
            ("job", job), ("owner", owner), ("now", now), ("expires", now + (long)duration.TotalMilliseconds));
        return await command.ExecuteScalarAsync(cancellationToken) is string holder && holder == owner;
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

    public static string Wire(JobOutcome outcome) => outcome.ToString().ToLowerInvariant();

    public static JobOutcome Parse(string text) => Enum.Parse<JobOutcome>(text, ignoreCase: true);
}
