using Aisa.Settlement.Adapters.JsonRpc;
using Aisa.Settlement.Adapters.Evm;
using Aisa.Settlement.Adapters.Evm.Rpc;
using Aisa.Settlement.Rails;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Adapters.X402;

/// <summary><c>services.AddX402Rail(configuration)</c>: the x402 rail of <c>Rails:X402</c>, with its reconciler; nothing when the section is absent.</summary>
public static class X402Rails
{
    public const string FacilitatorHttpClient = "x402-facilitator";

    public static IServiceCollection AddX402Rail(this IServiceCollection services, IConfiguration configuration)
    {
        var setup = RailSetup.Of(services);
        if (setup.BindSection<X402Options>(configuration, X402Options.Section, o => o.Validate()) is not { } options)
        {
            return services;
        }
        var networks = configuration.GetSection($"{X402Options.Section}:Networks").GetChildren().ToList();
        foreach (var network in networks)
        {
            setup.ReportUnknownKeys<X402Network>(network, $"{X402Options.Section}:Networks:{network.Key}");
        }
        foreach (var network in options.Accepted.Where(n => n.ConfirmedByWatcher))
        {
            if (!configuration.GetSection(EvmChainOptions.Section).GetChildren()
                    .Any(c => long.TryParse(c["ChainId"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) && id == network.ChainId))
            {
                setup.Problem($"{X402Options.Section}: {network.Network} is confirmed by the watcher, but no chain of {EvmChainOptions.Section} has chain id {network.ChainId} to watch its settlements.");
            }
        }
        services.AddSingleton(options);
        // The facilitator's calls have their own timeout (FacilitatorTimeoutSeconds).
        services.AddHttpClient(FacilitatorHttpClient, client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.AddSingleton(provider => new FacilitatorClient(provider.GetRequiredService<IHttpClientFactory>().CreateClient(FacilitatorHttpClient), options));
        services.AddJsonRpcHttpClient();
        services.AddSingleton(provider => new X402Chains([.. options.Accepted.Select(network => new X402Chain(network,
            new Eip3009Chain(new EvmRpcClient(JsonRpcHttpClient.Create(provider), new JsonRpcOptions { Endpoints = network.RpcUrls.Select(u => new Uri(u)).ToList() }))))]));
        services.AddSingleton<X402Payments>();
        services.AddSingleton<X402Credits>();
        services.AddSingleton<X402Reconciler>();
        services.AddSingleton<IRailJob>(provider => provider.GetRequiredService<X402Reconciler>());
        services.AddSingleton<X402Rail>();
        services.AddSingleton<IRail>(provider => provider.GetRequiredService<X402Rail>());
        setup.Schedule(X402Reconciler.JobName, TimeSpan.FromSeconds(options.ReconcileIntervalSeconds), "Looks up x402 settlements whose answer was lost.");
        return services;
    }
}
