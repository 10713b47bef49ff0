using Aisa.Settlement.Storage.Jobs;

namespace Aisa.Settlement.Api.Jobs;

/// <summary>
/// Gives every lease of this instance up when it stops cleanly, so another instance takes over at once. Best effort: a
/// lease that cannot be given back (the database gone first) expires after <c>Scheduling:LeaseSeconds</c> anyway.
/// </summary>
public sealed class LeaseRelease(LeasedJobs leased, JobStore jobs, ServiceInstance instance, ILogger<LeaseRelease> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var job in leased.Names)
        {
            try
            {
                await jobs.ReleaseAsync(job, instance.Id, cancellationToken);
            }
            catch (Exception e) when (e is Storage.StorageUnavailableException or System.Data.Common.DbException or OperationCanceledException)
            {
                logger.LogWarning("The lease of {Job} was not given back ({Error}): it expires on its own.", job, e.Message);
            }
        }
    }
}
