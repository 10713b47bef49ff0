using Aisa.Settlement.Adapters.JsonRpc;
using Aisa.Settlement.Rails;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Adapters.Solana;

/// <summary>
/// <c>services.AddSolanaRail(configuration)</c>: USDC deposits on Solana of <c>Rails:Solana</c>, with their watcher, and payouts from the
/// treasury where <c>Payouts</c> holds its key; nothing when the section is absent.
/// </summary>
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
        setup.ReportUnknownKeys<SolanaPayoutOptions>(configuration.GetSection($"{SolanaOptions.Section}:Payouts"), $"{SolanaOptions.Section}:Payouts");
        var seed = options.Payouts?.ReadSeed(options.TreasuryOwner ?? "", out _);
        services.AddSingleton(provider => seed is null
            ? new SolanaRail(options, JsonRpcHttpClient.Create(provider), provider.GetRequiredService<IDepositBook>(), provider.GetService<TimeProvider>() ?? TimeProvider.System)
            : new SolanaPayoutRail(options, seed, JsonRpcHttpClient.Create(provider), provider.GetRequiredService<IDepositBook>(), provider.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton<IRail>(provider => provider.GetRequiredService<SolanaRail>());
        setup.Watch(SolanaRail.Rail, TimeSpan.FromSeconds(options.PollIntervalSeconds));
        if (seed is not null)
        {
            setup.PaysOut(SolanaRail.Rail);
        }
        return services;
    }
}
