using Aisa.Settlement.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Aisa.Settlement.Api.Health;

public static class HealthApi
{
    public static IServiceCollection AddSettlementHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database");
        return services;
    }

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/healthz", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions
        {
            ResponseWriter = (context, report) => context.Response.WriteAsJsonAsync(new
            {
                status = report.Status.ToString().ToLowerInvariant(),
                checks = report.Entries.ToDictionary(
                    entry => entry.Key,
                    entry => new { status = entry.Value.Status.ToString().ToLowerInvariant(), description = entry.Value.Description }),
            }),
        });
        return endpoints;
    }
}

internal sealed class DatabaseHealthCheck(IDatabase database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await database.PingAsync(cancellationToken);
            return HealthCheckResult.Healthy($"{database.Provider} at {database.Target}");
        }
        catch (StorageUnavailableException e)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }
}
