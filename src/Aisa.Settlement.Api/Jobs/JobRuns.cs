using System.Globalization;
using System.Text.Json.Nodes;
using Aisa.Settlement.Storage.Jobs;
using Hangfire;
using Hangfire.Storage;
using Hangfire.Storage.Monitoring;

namespace Aisa.Settlement.Api.Jobs;

/// <summary>
/// The runs of the recurring jobs, read from Hangfire: what it keeps of each (running, succeeded for a day, failed for
/// <see cref="JobEngine.FailedRetention"/>), and what <see cref="LeasedRuns"/> stored with it (the instance, the attempt,
/// the start and end, the summary). Hangfire lists jobs by state, not by recurring job, so a search reads at most
/// <see cref="Window"/> of the newest jobs of each state.
/// </summary>
public sealed class JobRuns(JobStorage storage, IBackgroundJobClient client, ILogger<JobRuns> logger)
{
    public const int Window = 5_000;
    private const int Page = 500;

    /// <summary>Runs newest first, of one job and one outcome if given, with ids below <paramref name="before"/>.</summary>
    public IReadOnlyList<JobRun> List(string? job, JobOutcome? outcome, long? before, int limit)
    {
        var monitoring = storage.GetMonitoringApi();
        using var connection = storage.GetConnection();
        var runs = new List<JobRun>();
        bool Wanted(JobRun run) => (job is null || run.Job == job) && (before is null || run.Id < before);
        if (outcome is null or JobOutcome.Running)
        {
            runs.AddRange(Collect(monitoring.ProcessingJobs, (id, dto) => Processing(connection, id, dto), Wanted, limit));
        }
        if (outcome is null or JobOutcome.Succeeded)
        {
            runs.AddRange(Collect(monitoring.SucceededJobs, Succeeded, Wanted, limit));
        }
        if (outcome is null or JobOutcome.Failed)
        {
            runs.AddRange(Collect(monitoring.FailedJobs, (id, dto) => Failed(connection, id, dto), Wanted, limit));
        }
        return [.. runs.OrderByDescending(r => r.Id).Take(limit)];
    }

    /// <summary>Deletes failed jobs that failed before <paramref name="before"/>, oldest first (Hangfire keeps failed jobs for ever); returns how many.</summary>
    public int DeleteFailedBefore(DateTimeOffset before)
    {
        var monitoring = storage.GetMonitoringApi();
        var deleted = 0;
        while (true)
        {
            var total = (int)Math.Min(monitoring.FailedCount(), int.MaxValue);
            var oldest = monitoring.FailedJobs(Math.Max(0, total - Page), Page)
                .Where(j => j.Value.FailedAt is { } at && Utc(at) < before)
                .Select(j => j.Key)
                .ToList();
            var now = deleted;
            foreach (var id in oldest)
            {
                // Only while it is still failed: a job retried from the dashboard meanwhile stays.
                if (client.ChangeState(id, new Hangfire.States.DeletedState { Reason = $"Failed more than {JobEngine.FailedRetention.TotalDays:0} days ago." }, Hangfire.States.FailedState.StateName))
                {
                    deleted++;
                }
            }
            if (deleted == now)
            {
                return deleted;
            }
        }
    }

    private static IEnumerable<JobRun> Collect<T>(Func<int, int, JobList<T>> page, Func<long, T, JobRun?> view, Func<JobRun, bool> wanted, int limit)
    {
        var found = 0;
        for (var from = 0; from < Window && found < limit; from += Page)
        {
            var jobs = page(from, Page);
            foreach (var (key, dto) in jobs)
            {
                if (long.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && view(id, dto) is { } run && wanted(run))
                {
                    found++;
                    yield return run;
                }
            }
            if (jobs.Count < Page)
            {
                yield break;
            }
        }
    }

    private static string? NameOf(Hangfire.Common.Job? job) =>
        job is { Type: var type, Args: [string name, ..] } && type == typeof(RecurringPass) ? name : null;

    /// <summary>A job that has begun a pass: it stored its start. A tick still deciding whether to run is no run.</summary>
    private JobRun? Processing(IStorageConnection connection, long id, ProcessingJobDto dto)
    {
        if (NameOf(dto.Job) is not { } name || Started(connection, id) is not { } start)
        {
            return null;
        }
        return new JobRun(id, name, start.Instance, start.Attempt, start.StartedAt, null, JobOutcome.Running, null, null);
    }

    private JobRun? Succeeded(long id, SucceededJobDto dto)
    {
        if (NameOf(dto.Job) is not { } name || dto.Result is null)
        {
            return null;
        }
        var result = Parse(Convert.ToString(dto.Result, CultureInfo.InvariantCulture));
        if (result is null || result.ContainsKey("skipped"))
        {
            return null;
        }
        return new JobRun(id, name, result["instance"]?.GetValue<string>(), result["attempt"]?.GetValue<int>(), Instant(result["startedAt"]),
            Instant(result["endedAt"]) ?? (dto.SucceededAt is { } at ? Utc(at) : null), JobOutcome.Succeeded, null, result["summary"]?.DeepClone());
    }

    private JobRun? Failed(IStorageConnection connection, long id, FailedJobDto dto)
    {
        if (NameOf(dto.Job) is not { } name)
        {
            return null;
        }
        // A tick that failed before a pass began (the database away, say) stored no start: it ended when it failed.
        var start = Started(connection, id);
        var failedAt = dto.FailedAt is { } at ? Utc(at) : (DateTimeOffset?)null;
        return new JobRun(id, name, start?.Instance, start?.Attempt, start?.StartedAt ?? failedAt, failedAt, JobOutcome.Failed, dto.ExceptionMessage, null);
    }

    private sealed record Start(string? Instance, int? Attempt, DateTimeOffset? StartedAt);

    private Start? Started(IStorageConnection connection, long id)
    {
        var stored = Parse(connection.GetJobParameter(id.ToString(CultureInfo.InvariantCulture), LeasedRuns.RunParameter));
        return stored is null ? null : new Start(stored["instance"]?.GetValue<string>(), stored["attempt"]?.GetValue<int>(), Instant(stored["startedAt"]));
    }

    private JsonObject? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(json) as JsonObject;
        }
        catch (System.Text.Json.JsonException e)
        {
            logger.LogWarning("A job's stored run could not be read: {Error}", e.Message);
            return null;
        }
    }

    private static DateTimeOffset? Instant(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    private static DateTimeOffset Utc(DateTime at) => new(DateTime.SpecifyKind(at, DateTimeKind.Utc));
}
