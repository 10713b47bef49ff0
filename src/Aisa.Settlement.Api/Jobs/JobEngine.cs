using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage;
using Hangfire;
using Hangfire.Common;
using Hangfire.Dashboard;
using Hangfire.InMemory;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;

namespace Aisa.Settlement.Api.Jobs;

/// <summary>
/// Hangfire as the job engine: its storage (its own schema on PostgreSQL; in memory on the embedded SQLite default, one
/// instance), one server per instance, and every recurring job. Nothing of it is process-wide: storage, filters, clients
/// and server are this service's own, so several services in one process (the tests) never share them.
/// </summary>
public static class JobEngine
{
    /// <summary>The schema Hangfire's tables live in, beside ours, on PostgreSQL.</summary>
    public const string Schema = "hangfire";

    /// <summary>
    /// How long a failed job is kept: Hangfire keeps failed jobs for ever (failed is not a final state, and it persists a
    /// job entering it whatever a filter said), so the prune job deletes older ones. Succeeded jobs stay Hangfire's day.
    /// </summary>
    public static readonly TimeSpan FailedRetention = TimeSpan.FromDays(7);

    /// <summary>
    /// Hangfire's own locks (taking the due recurring jobs, expiring old ones) are held for moments; none is held during a
    /// pass. A lock left by an instance that died is taken over after this.
    /// </summary>
    public static readonly TimeSpan LockTimeout = TimeSpan.FromMinutes(1);

    /// <summary>A job fetched by an instance that died is handed out again after this (sliding: a live instance keeps its jobs).</summary>
    public static readonly TimeSpan InvisibilityTimeout = TimeSpan.FromMinutes(1);

    public static IServiceCollection AddJobs(this IServiceCollection services, RailSetup rails, SchedulingOptions scheduling, StorageOptions storage, Payouts.PayoutOptions payouts)
    {
        HangfireLogs.Install();
        services.AddSingleton(scheduling);
        services.AddSingleton<ServiceInstance>();
        services.AddSingleton<LeasedRuns>();
        var recurring = new RecurringJobs([
            .. rails.Passes.Select(p => new ScheduledJob(p.Name, p.Interval, p.Purpose, p.Watcher)),
            .. PayoutJobs(rails.Payers, payouts),
            PruneJob.Scheduled]);
        services.AddSingleton(recurring);
        services.AddTransient<PruneJob>();
        services.AddTransient<RecurringPass>();
        services.AddSingleton<JobRuns>();

        services.AddSingleton<JobStorage>(_ => storage.Provider == StorageOptions.Postgres ? PostgresStorage(storage.ConnectionString!, recurring.PollInterval) : MemoryStorage());
        // Only the attributes on the job methods (no retry of a recurring pass): none of Hangfire's global filters.
        services.AddSingleton<IJobFilterProvider>(_ => new JobFilterProviderCollection(new JobFilterAttributeFilterProvider()));
        services.AddSingleton<IBackgroundJobClient>(provider => new BackgroundJobClient(provider.GetRequiredService<JobStorage>(), provider.GetRequiredService<IJobFilterProvider>()));
        services.AddSingleton<IRecurringJobManager>(provider => new RecurringJobManager(provider.GetRequiredService<JobStorage>(), provider.GetRequiredService<IJobFilterProvider>()));
        // What Hangfire's dashboard asks for to be found; nothing is configured through the global configuration.
        services.AddSingleton<IGlobalConfiguration>(_ => GlobalConfiguration.Configuration);
        services.AddSingleton(_ => DashboardRoutes.Routes);
        services.AddSingleton<JobServer>();
        services.AddHostedService(provider => provider.GetRequiredService<JobServer>());
        return services;
    }

    /// <summary>With a rail that pays: the payout run on its schedule, and a pass per rail that sends and tracks its payouts.</summary>
    private static IEnumerable<ScheduledJob> PayoutJobs(IReadOnlyList<RailId> payers, Payouts.PayoutOptions payouts)
    {
        if (payers.Count == 0)
        {
            yield break;
        }
        yield return new ScheduledJob(Payouts.PayoutProcessor.RunJob, payouts.RunInterval(DateTimeOffset.UtcNow),
            "Pays every publisher whose available earnings reach its minimum: one payout of the whole amount on its rail.", CronExpression: payouts.Schedule.Trim());
        foreach (var rail in payers)
        {
            yield return new ScheduledJob(Payouts.PayoutProcessor.PassJob(rail.Value), TimeSpan.FromSeconds(payouts.PollIntervalSeconds),
                $"Sends the payouts on {rail} and tracks them until they are final.", Payer: rail);
        }
    }

    /// <summary>
    /// Creates or upgrades Hangfire's schema on PostgreSQL, one instance at a time (under a lock of ours: Hangfire's own
    /// installer fails when two instances start at once on an empty database). Nothing to do in memory.
    /// </summary>
    public static async Task InstallAsync(StorageOptions storage, CancellationToken cancellationToken)
    {
        if (storage.Provider != StorageOptions.Postgres)
        {
            return;
        }
        try
        {
            await using var connection = new Npgsql.NpgsqlConnection(storage.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using (var take = new Npgsql.NpgsqlCommand($"SELECT pg_advisory_lock({SqlDatabase.Locks.JobEngineSchema})", connection))
            {
                await take.ExecuteNonQueryAsync(cancellationToken);
            }
            try
            {
                PostgreSqlObjectsInstaller.Install(connection, Schema);
            }
            finally
            {
                // Given up here: a pooled connection is reset only when it is used again, and would hold the lock till then.
                await using var give = new Npgsql.NpgsqlCommand($"SELECT pg_advisory_unlock({SqlDatabase.Locks.JobEngineSchema})", connection);
                await give.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
        catch (Npgsql.NpgsqlException e)
        {
            throw new StorageUnavailableException($"Cannot create or upgrade the job engine's schema ({Schema}): {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    private static PostgreSqlStorage PostgresStorage(string connectionString, TimeSpan poll)
    {
        var options = new PostgreSqlStorageOptions
        {
            SchemaName = Schema,
            // Installed by InstallAsync at start, under a lock.
            PrepareSchemaIfNecessary = false,
            QueuePollInterval = poll,
            UseSlidingInvisibilityTimeout = true,
            InvisibilityTimeout = InvisibilityTimeout,
            DistributedLockTimeout = LockTimeout,
        };
        return new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, options), options);
    }

    private static InMemoryStorage MemoryStorage() => new(new InMemoryStorageOptions
    {
        IdType = InMemoryStorageIdType.Long,
        // Nothing is kept longer than this in memory, whatever the retention of a job says.
        MaxExpirationTime = TimeSpan.FromHours(3),
    });
}
