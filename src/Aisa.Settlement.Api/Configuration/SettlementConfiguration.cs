using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Jobs;
using Aisa.Settlement.Api.Rails;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage;
using Microsoft.Extensions.Options;

namespace Aisa.Settlement.Api.Configuration;

/// <summary>Every options section, bound and validated.</summary>
public sealed record SettlementSettings(StorageOptions Storage, PlatformOptions Platform, OperatorOptions Operator, RateLimitOptions RateLimits, RailSetup Rails,
    SchedulingOptions Scheduling, ForwardedHeadersSettings ForwardedHeaders, Observability.MetricsOptions Metrics, Payouts.PayoutOptions Payouts,
    Publishers.PublisherOptions Publishers, Notifications.NotificationOptions Notifications);

/// <summary>
/// Binds and validates every options section before anything starts, so a bad value stops start-up with one clear line;
/// the rails' sections are bound by their own registrations (<see cref="RailRegistrations.AddRails"/>), which leave their problems in <see cref="RailSetup"/>.
/// </summary>
public static class SettlementConfiguration
{
    public static IReadOnlyList<string> BindAndValidate(IConfiguration configuration, IServiceCollection services, out SettlementSettings settings, bool development = false)
    {
        var problems = new List<string>();
        var storage = Bind<StorageOptions>(configuration, StorageOptions.Section, problems);
        var platform = Bind<PlatformOptions>(configuration, PlatformOptions.Section, problems);
        var @operator = Bind<OperatorOptions>(configuration, OperatorOptions.Section, problems);
        var rateLimits = Bind<RateLimitOptions>(configuration, RateLimitOptions.Section, problems);
        var forwarded = Bind<ForwardedHeadersSettings>(configuration, ForwardedHeadersSettings.Section, problems);
        problems.AddRange(forwarded.Validate());
        var metrics = Bind<Observability.MetricsOptions>(configuration, Observability.MetricsOptions.Section, problems);
        if (metrics.RequireOperatorKey && string.IsNullOrEmpty(@operator.ApiKey))
        {
            problems.Add("Metrics:RequireOperatorKey needs Operator:ApiKey: the key /metrics then asks for.");
        }
        problems.AddRange(storage.Validate());
        problems.AddRange(platform.Validate());
        problems.AddRange(@operator.Validate());
        problems.AddRange(rateLimits.Validate());
        services.AddRails(configuration, development);
        var rails = RailSetup.Of(services);
        problems.AddRange(rails.Problems);
        var scheduling = Bind<SchedulingOptions>(configuration, SchedulingOptions.Section, problems);
        problems.AddRange(scheduling.Validate());
        var payouts = Bind<Payouts.PayoutOptions>(configuration, Payouts.PayoutOptions.Section, problems);
        problems.AddRange(payouts.Validate(rails.Payers));
        var publishers = Bind<Publishers.PublisherOptions>(configuration, Publishers.PublisherOptions.Section, problems);
        problems.AddRange(publishers.Validate());
        publishers.ApplyEnvironment(development);
        var notifications = Bind<Notifications.NotificationOptions>(configuration, Notifications.NotificationOptions.Section, problems);
        problems.AddRange(notifications.Validate());

        services.AddSingleton(Options.Create(storage));
        services.AddSingleton(Options.Create(platform));
        services.AddSingleton(Options.Create(@operator));
        services.AddSingleton(Options.Create(rateLimits));
        services.AddSingleton(metrics);
        services.AddSingleton(payouts);
        services.AddSingleton(publishers);
        services.AddSingleton(notifications);
        settings = new SettlementSettings(storage, platform, @operator, rateLimits, rails, scheduling, forwarded, metrics, payouts, publishers, notifications);
        return problems;
    }

    private static T Bind<T>(IConfiguration configuration, string section, List<string> problems) where T : new()
    {
        var options = new T();
        problems.AddRange(RailSetup.UnknownKeys<T>(configuration.GetSection(section), section));
        try
        {
            configuration.GetSection(section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            // The binder's message names the key and the type; it never holds more than the bad value itself.
            problems.Add(e.Message.ReplaceLineEndings(" "));
        }
        return options;
    }
}
