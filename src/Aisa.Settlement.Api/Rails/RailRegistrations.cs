using Aisa.Settlement.Adapters.Evm;
using Aisa.Settlement.Adapters.Lightning;
using Aisa.Settlement.Adapters.Sandbox;
using Aisa.Settlement.Adapters.Solana;
using Aisa.Settlement.Adapters.Stripe;
using Aisa.Settlement.Adapters.X402;

namespace Aisa.Settlement.Api.Rails;

/// <summary>Every rail this build has, one registration each: a rail binds its own section and does nothing when it is absent.</summary>
public static class RailRegistrations
{
    /// <param name="development">Whether this is the Development environment: the sandbox rail runs there only.</param>
    public static IServiceCollection AddRails(this IServiceCollection services, IConfiguration configuration, bool development = false) =>
        services
            .AddEvmRails(configuration)
            .AddX402Rail(configuration)
            .AddStripeRail(configuration)
            .AddSolanaRail(configuration)
            .AddLightningRail(configuration)
            .AddSandboxRail(configuration, development);
}
