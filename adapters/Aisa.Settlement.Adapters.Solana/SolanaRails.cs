using Aisa.Settlement.Adapters.JsonRpc;
using Aisa.Settlement.Rails;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Adapters.Solana;

/// <summary><c>services.AddSolanaRail(configuration)</c>: USDC deposits on Solana of <c>Rails:Solana</c>, with their watcher; nothing when the section is absent.</summary>
public static class SolanaRails
{
    public static IServiceCollection AddSolanaRail(this IServiceCollection services, IConfiguration configuration)
    {
        var setup = RailSetup.Of(services);
        if (setup.BindSection<SolanaOptions>(configuration, SolanaOptions.Section, o => o.Validate()) is not { } options)
        {
            return services;
        }
        services.AddJsonRpcHttpClient();
        services.AddSingleton(provider => new SolanaRail(options, JsonRpcHttpClient.Create(provider), provider.GetRequiredService<IDepositBook>(),
            provider.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton<IRail>(provider => provider.GetRequiredService<SolanaRail>());
        setup.Watch(SolanaRail.Rail, TimeSpan.FromSeconds(options.PollIntervalSeconds));
        return services;
    }
}
