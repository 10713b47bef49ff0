namespace Aisa.Settlement.Api.Jobs;

/// <summary>This process among the service's instances: the owner name of the leases it holds.</summary>
public sealed class ServiceInstance
{
    public string Id { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
}
