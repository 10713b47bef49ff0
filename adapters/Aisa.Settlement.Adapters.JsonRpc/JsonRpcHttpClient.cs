using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Adapters.JsonRpc;

/// <summary>The one HttpClient every JSON-RPC node is called through (the EVM chains, x402's chain reads, Solana).</summary>
public static class JsonRpcHttpClient
{
    public const string Name = "json-rpc";

    /// <summary>
    /// One pooled client for every node: connections renewed every five minutes so DNS changes are seen, and the handler
    /// kept for good (the rails hold their client for the life of the service). Registered once, however many rails ask.
    /// </summary>
    public static IServiceCollection AddJsonRpcHttpClient(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(Marker)))
        {
            return services;
        }
        services.AddSingleton<Marker>();
        services.AddHttpClient(Name, client =>
            {
                // Each call has its own timeout (JsonRpcOptions.Timeout); this one only bounds what escapes it.
                client.Timeout = TimeSpan.FromMinutes(5);
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        return services;
    }

    /// <summary>The client, from the factory.</summary>
    public static HttpClient Create(IServiceProvider provider) => provider.GetRequiredService<IHttpClientFactory>().CreateClient(Name);

    private sealed class Marker;
}
