using Aisa.Settlement.Adapters.Lightning.Backends;
using Aisa.Settlement.Adapters.Lightning.BtcPay;
using Aisa.Settlement.Adapters.Lightning.Lnd;
using Aisa.Settlement.Rails;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aisa.Settlement.Adapters.Lightning;

/// <summary>
/// <c>services.AddLightningRail(configuration)</c>: Lightning top-ups of <c>Rails:Lightning</c> through BTCPay Server or LND, with their
/// watcher, and payouts to Lightning addresses where <c>Payouts</c> is present; nothing when the section is absent.
/// </summary>
public static class LightningRails
{
    public const string BackendClient = "lightning";
    public const string RateClient = "lightning-rate";
    public const string AddressClient = "lightning-address";

    public static IServiceCollection AddLightningRail(this IServiceCollection services, IConfiguration configuration)
    {
        var setup = RailSetup.Of(services);
        var section = configuration.GetSection(LightningOptions.Section);
        if (setup.BindSection<LightningOptions>(configuration, LightningOptions.Section, o => o.Validate()) is not { } options)
        {
            return services;
        }
        setup.ReportUnknownKeys<BtcPayOptions>(section.GetSection("BtcPay"), $"{LightningOptions.Section}:BtcPay");
        setup.ReportUnknownKeys<LndOptions>(section.GetSection("Lnd"), $"{LightningOptions.Section}:Lnd");
        setup.ReportUnknownKeys<LightningPayoutOptions>(section.GetSection("Payouts"), $"{LightningOptions.Section}:Payouts");
        var timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);

        // Each request has its own timeout. LND's self-signed certificate is trusted by its pin, and only on LND's client:
        // the rate source keeps the system's authorities.
        var backendClient = services.AddHttpClient(BackendClient, client => client.Timeout = Timeout.InfiniteTimeSpan);
        if (options.UsesLnd && options.Lnd.PinnedThumbprint is { } pin)
        {
            backendClient.ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = CertificatePin.Validator(pin) } });
        }
        services.AddHttpClient(RateClient, client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.AddHttpClient(AddressClient, client => client.Timeout = Timeout.InfiniteTimeSpan);

        services.AddSingleton<ILightningBackend>(provider =>
        {
            var clients = provider.GetRequiredService<IHttpClientFactory>();
            return options.UsesLnd
                ? new LndBackend(new LightningHttp(clients.CreateClient(BackendClient), "LND", timeout),
                    new BtcUsdRate(new LightningHttp(clients.CreateClient(RateClient), "The BTC/USD rate source", timeout), options.Lnd), options.Lnd, options.Payouts?.MacaroonHex)
                : new BtcPayBackend(new LightningHttp(clients.CreateClient(BackendClient), "BTCPay", timeout), options.BtcPay);
        });
        services.AddSingleton(provider => options.Payouts is { } payouts
            ? new LightningPayoutRail(options, payouts, provider.GetRequiredService<ILightningBackend>(),
                new LightningHttp(provider.GetRequiredService<IHttpClientFactory>().CreateClient(AddressClient), "A Lightning address's server", timeout),
                provider.GetRequiredService<IDepositBook>(), provider.GetRequiredService<ISealedTokens>(), provider.GetService<TimeProvider>() ?? TimeProvider.System,
                provider.GetRequiredService<ILogger<LightningRail>>())
            : new LightningRail(options, provider.GetRequiredService<ILightningBackend>(), provider.GetRequiredService<IDepositBook>(), provider.GetRequiredService<ISealedTokens>(),
                provider.GetService<TimeProvider>() ?? TimeProvider.System, provider.GetRequiredService<ILogger<LightningRail>>()));
        services.AddSingleton<IRail>(provider => provider.GetRequiredService<LightningRail>());
        setup.Watch(LightningRail.Rail, TimeSpan.FromSeconds(options.PollIntervalSeconds));
        if (options.Payouts is not null)
        {
            setup.PaysOut(LightningRail.Rail);
        }
        return services;
    }
}
