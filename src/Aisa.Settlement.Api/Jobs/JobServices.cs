using Aisa.Settlement.Rails;
using Quartz;

namespace Aisa.Settlement.Api.Jobs;

public static class JobServices
{
    /// <summary>Every recurring pass the rails asked for, and pruning, each on one instance at a time.</summary>
    public static IServiceCollection AddJobs(this IServiceCollection services, RailSetup rails, SchedulingOptions scheduling)
    {
        services.AddSingleton(scheduling);
        services.AddSingleton<ServiceInstance>();
        services.AddSingleton<LeasedRuns>();
        List<ScheduledJob> scheduled =
        [
            .. rails.Passes.Select(p => new ScheduledJob(p.Name, p.Interval, p.Purpose)),
            new ScheduledJob(PruneJob.Name, PruneJob.Interval,
                $"Deletes job runs older than {scheduling.RunHistoryDays} days (each job's last run and last success stay), expired sessions and Idempotency-Key records past 24 h."),
        ];
        services.AddSingleton(new LeasedJobs(scheduled));
        services.AddTransient<PruneJob>();
        services.AddTransient<RailPassJob>();
        // Registered before Quartz's hosted service, so it stops after it: no pass runs once the lease is given up.
        services.AddHostedService<LeaseRelease>();
        services.AddQuartz(quartz =>
        {
            foreach (var pass in rails.Passes)
            {
                var job = new JobKey(pass.Name);
                quartz.AddJob<RailPassJob>(j =>
                {
                    j.WithIdentity(job).UsingJobData(RailPassJob.PassKey, pass.Name);
                    if (pass.Watcher is { } watcher)
                    {
                        j.UsingJobData(RailPassJob.WatcherKey, watcher.Value);
                    }
                });
                quartz.AddTrigger(t => t.ForJob(job).StartNow().WithSimpleSchedule(s => Every(s, pass.Interval)));
            }
            var prune = new JobKey(PruneJob.Name);
            quartz.AddJob<PruneJob>(j => j.WithIdentity(prune));
            quartz.AddTrigger(t => t.ForJob(prune).StartNow().WithSimpleSchedule(s => Every(s, PruneJob.Interval)));
        });
        services.AddQuartzHostedService(options => options.WaitForJobsToComplete = true);
        return services;
    }

    private static void Every(SimpleScheduleBuilder schedule, TimeSpan interval) =>
        schedule.WithInterval(interval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount);
}
