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
        if (options.ConfirmedByWatcher && !configuration.GetSection(EvmChainOptions.Section).GetChildren()
                .Any(c => long.TryParse(c["ChainId"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) && id == options.ChainId))
        {
            setup.Problem($"{X402Options.Section}:Confirm is watcher, but no chain of {EvmChainOptions.Section} has chain id {options.ChainId} to watch the settlements.");
        }
        services.AddSingleton(options);
        // The facilitator's calls have their own timeout (FacilitatorTimeoutSeconds).
        services.AddHttpClient(FacilitatorHttpClient, client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.AddSingleton(provider => new FacilitatorClient(provider.GetRequiredService<IHttpClientFactory>().CreateClient(FacilitatorHttpClient), options));
        services.AddJsonRpcHttpClient();
        services.AddSingleton(provider => new Eip3009Chain(new EvmRpcClient(JsonRpcHttpClient.Create(provider), new JsonRpcOptions
        {
            Endpoints = options.RpcUrls.Select(u => new Uri(u)).ToList(),
        })));
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
