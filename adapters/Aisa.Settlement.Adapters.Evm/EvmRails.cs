using Aisa.Settlement.Adapters.JsonRpc;
using Aisa.Settlement.Rails;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Adapters.Evm;

/// <summary>
/// <c>services.AddEvmRails(configuration)</c>: one rail per chain of <c>Rails:Evm:Chains</c> (Base, Polygon, BNB Smart Chain), each with
/// its watcher, and paying publishers from a hot wallet where the chain has <c>Payouts</c>.
/// </summary>
public static class EvmRails
{
    public static IServiceCollection AddEvmRails(this IServiceCollection services, IConfiguration configuration)
    {
        var setup = RailSetup.Of(services);
        var chains = Bind(configuration, setup);
        if (chains.Count == 0)
        {
            return services;
        }
        services.AddJsonRpcHttpClient();
        foreach (var (name, options) in chains)
        {
            var rail = new RailId(name);
            setup.Watch(rail, TimeSpan.FromSeconds(options.PollIntervalSeconds));
            if (options.Payouts is { } payouts)
            {
                var key = payouts.ReadKey(out _)!;
                services.AddSingleton<IRail>(provider => new EvmPayoutRail(rail, options, payouts, key, JsonRpcHttpClient.Create(provider), provider.GetService<TimeProvider>() ?? TimeProvider.System));
                setup.PaysOut(rail);
            }
            else
            {
                services.AddSingleton<IRail>(provider => new EvmRail(rail, options, JsonRpcHttpClient.Create(provider)));
            }
        }
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
            setup.ReportUnknownKeys<EvmPayoutOptions>(section.GetSection("Payouts"), $"{EvmChainOptions.Section}:{section.Key}:Payouts");
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
}
