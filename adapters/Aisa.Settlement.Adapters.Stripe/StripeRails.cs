using Aisa.Settlement.Rails;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Adapters.Stripe;

/// <summary>
/// <c>services.AddStripeRail(configuration)</c>: card top-ups of <c>Rails:Stripe</c> (the default top-up rail) through Stripe.net, and Connect
/// payouts when <c>PayoutsEnabled</c>; nothing when the section is absent.
/// </summary>
public static class StripeRails
{
    public const string HttpClientName = "stripe";

    public static IServiceCollection AddStripeRail(this IServiceCollection services, IConfiguration configuration)
    {
        var setup = RailSetup.Of(services);
        if (setup.BindSection<StripeOptions>(configuration, StripeOptions.Section, o => o.Validate()) is not { } options)
        {
            return services;
        }
        services.AddSingleton(options);
        // Each call has its own timeout (TimeoutSeconds).
        services.AddHttpClient(HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.AddSingleton(provider => new StripeClient(new global::Stripe.StripeClient(new global::Stripe.StripeClientOptions
        {
            ApiKey = options.SecretKey,
            ApiBase = options.ApiBaseUrl.TrimEnd('/'),
            HttpClient = new global::Stripe.SystemNetHttpClient(provider.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName)),
        }), options));
        services.AddSingleton<StripeTopUps>();
        services.AddSingleton<IRailJob>(provider => provider.GetRequiredService<StripeTopUps>());
        services.AddSingleton(provider => options.PayoutsEnabled
            ? new StripePayoutRail(options, provider.GetRequiredService<StripeTopUps>(), provider.GetRequiredService<StripeClient>(), provider.GetService<TimeProvider>() ?? TimeProvider.System)
            : new StripeRail(options, provider.GetRequiredService<StripeTopUps>(), provider.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton<IRail>(provider => provider.GetRequiredService<StripeRail>());
        // Today's clients top up without naming a rail and expect the card checkout.
        services.AddSingleton(new DefaultTopUpRail(StripeRail.Rail));
        setup.Schedule(StripeTopUps.JobName, TimeSpan.FromSeconds(options.PollIntervalSeconds), "Reads pending Checkout Sessions from Stripe.");
        if (options.PayoutsEnabled)
        {
            setup.PaysOut(StripeRail.Rail);
        }
        return services;
    }
}
