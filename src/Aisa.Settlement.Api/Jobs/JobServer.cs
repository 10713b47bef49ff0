using Hangfire;
using Hangfire.Common;
using Hangfire.AspNetCore;
using Hangfire.Storage;

namespace Aisa.Settlement.Api.Jobs;

/// <summary>
/// This instance's Hangfire server: at start, every recurring job of this configuration is scheduled (and one that is no
/// longer configured removed), then the server runs the jobs Hangfire hands it; at stop it lets the jobs in flight end
/// (a pass stopped midway is handed out again and goes on from its stored cursor).
/// </summary>
public sealed class JobServer(JobStorage storage, IJobFilterProvider filters, IRecurringJobManager manager, RecurringJobs recurring, IServiceScopeFactory scopes,
    ILoggerFactory loggers, ILogger<JobServer> logger) : IHostedService, IDisposable
{
    private BackgroundJobServer? _server;
    private volatile bool _running;

    /// <summary>Whether this instance's server is running: readiness says so.</summary>
    public bool Running => _running;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        HangfireLogs.Attach(loggers);
        Schedule();
        _server = new BackgroundJobServer(new BackgroundJobServerOptions
        {
            // A worker per recurring job, so a long catch-up of one chain never holds up another's watcher, and two for the rest.
            WorkerCount = Math.Max(4, recurring.Jobs.Count + 2),
            SchedulePollingInterval = recurring.PollInterval,
            HeartbeatInterval = TimeSpan.FromSeconds(10),
            ServerCheckInterval = TimeSpan.FromMinutes(1),
            ServerTimeout = TimeSpan.FromMinutes(1),
            Activator = new AspNetCoreJobActivator(scopes),
            FilterProvider = filters,
        }, storage, []);
        _running = true;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _running = false;
        // Taken once: the test host may stop a service twice, from two threads (dotnet/aspnetcore#40271).
        if (Interlocked.Exchange(ref _server, null) is not { } server)
        {
            return;
        }
        try
        {
            server.SendStop();
            await server.WaitForShutdownAsync(cancellationToken);
        }
        finally
        {
            server.Dispose();
            HangfireLogs.Detach(loggers);
        }
    }

    /// <summary>
    /// A recurring job's lock left by an instance killed while it held it (kill -9, a lost machine) is Hangfire's to
    /// take over only once it is <see cref="JobEngine.LockTimeout"/> old, later than Hangfire waits for it: a restart
    /// right after such a death waits that out instead of failing to start.
    /// </summary>
    private void OutwaitDeadHolder(string job, Action schedule)
    {
        var giveUp = DateTime.UtcNow + JobEngine.LockTimeout + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                schedule();
                return;
            }
            catch (Exception e) when (e is DistributedLockTimeoutException or Hangfire.PostgreSql.PostgreSqlDistributedLockException && DateTime.UtcNow < giveUp)
            {
                logger.LogWarning("Recurring job {Job} is locked, perhaps by an instance that died holding it: trying again until the lock expires ({Error}).", job, e.Message);
            }
        }
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _server, null)?.Dispose();
        HangfireLogs.Detach(loggers);
    }

    private void Schedule()
    {
        foreach (var job in recurring.Jobs)
        {
            var name = job.Name;
            OutwaitDeadHolder(name, () => manager.AddOrUpdate<RecurringPass>(name, pass => pass.RunAsync(name, null, CancellationToken.None), job.Cron,
                new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc }));
        }
        using var connection = storage.GetConnection();
        foreach (var stale in connection.GetRecurringJobs().Where(j => recurring.Find(j.Id) is null))
        {
            OutwaitDeadHolder(stale.Id, () => manager.RemoveIfExists(stale.Id));
            logger.LogWarning("Recurring job {Job} is no longer configured: removed from the schedule.", stale.Id);
        }
        logger.LogInformation("Scheduled {Count} recurring jobs: {Jobs}", recurring.Jobs.Count, string.Join(", ", recurring.Jobs.Select(j => $"{j.Name} ({j.Cron})")));
    }
}
