using Aisa.Settlement.Rails;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Adapters.Evm;

/// <summary><c>services.AddEvmRails(configuration)</c>: one rail per chain of <c>Rails:Evm:Chains</c> (Base, Polygon, BNB Smart Chain), each with its watcher.</summary>
public static class EvmRails
{
    /// <summary>The HttpClient every chain's JSON-RPC goes through (the x402 rail's chain reads too).</summary>
    public const string RpcHttpClient = "evm-rpc";

    public static IServiceCollection AddEvmRails(this IServiceCollection services, IConfiguration configuration)
    {
        var setup = RailSetup.Of(services);
        var chains = Bind(configuration, setup);
        if (chains.Count == 0)
        {
            return services;
        }
        services.AddRpcHttpClient();
        foreach (var (name, options) in chains)
        {
            var rail = new RailId(name);
            services.AddSingleton<IRail>(provider => new EvmRail(rail, options, provider.GetRequiredService<IHttpClientFactory>().CreateClient(RpcHttpClient)));
            setup.Watch(rail, TimeSpan.FromSeconds(options.PollIntervalSeconds));
        }
        return services;
    }

    /// <summary>
    /// One pooled client for every node: connections renewed every five minutes so DNS changes are seen, and the handler
    /// kept for good (the rails hold their client for the life of the service).
    /// </summary>
    public static IServiceCollection AddRpcHttpClient(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(RpcHttpClientMarker)))
        {
            return services;
        }
        services.AddSingleton<RpcHttpClientMarker>();
        services.AddHttpClient(RpcHttpClient, client =>
            {
                // Each call has its own timeout (RpcTimeoutSeconds); this one only bounds what escapes it.
                client.Timeout = TimeSpan.FromMinutes(5);
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        return services;
    }

    /// <summary>The chains configured, by rail name, each validated; problems go to <paramref name="setup"/>.</summary>
    public static IReadOnlyDictionary<string, EvmChainOptions> Bind(IConfiguration configuration, RailSetup setup)
    {
        var chains = new Dictionary<string, EvmChainOptions>(StringComparer.Ordinal);
        foreach (var section in configuration.GetSection(EvmChainOptions.Section).GetChildren())
        {
            var name = section.Key.ToLowerInvariant();
            setup.ReportUnknownKeys<EvmChainOptions>(section, $"{EvmChainOptions.Section}:{section.Key}");
            var options = new EvmChainOptions();
            try
            {
                section.Bind(options);
            }
            catch (InvalidOperationException e)
            {
                setup.Problem(e.Message.ReplaceLineEndings(" "));
                continue;
            }
            var problems = options.Validate(name).ToList();
            foreach (var problem in problems)
            {
                setup.Problem(problem);
            }
            if (problems.Count == 0 && RailId.IsValid(name))
            {
                chains[name] = options;
            }
        }
        foreach (var group in chains.Values.GroupBy(c => c.ChainId).Where(g => g.Count() > 1 && g.Key > 0))
        {
            setup.Problem($"{EvmChainOptions.Section}: chain id {group.Key} is configured more than once.");
        }
        return chains;
    }

    private sealed class RpcHttpClientMarker;
}
