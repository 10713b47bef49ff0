using Aisa.Settlement.Adapters.Evm;
using Aisa.Settlement.Adapters.Stripe;
using Aisa.Settlement.Adapters.X402;

namespace Aisa.Settlement.Api.Rails;

/// <summary><c>Scheduling</c>: how the instances share the watchers.</summary>
public sealed class SchedulingOptions
{
    public const string Section = "Scheduling";

    /// <summary>
    /// How long a watcher stays with the instance that last ran it. A live holder renews it every pass; when the
    /// holder dies, another instance takes the watcher over within this time plus one poll interval.
    /// </summary>
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>How many days of job runs are kept; older ones are deleted every hour (each job's last run and last success stay).</summary>
    public int RunHistoryDays { get; set; } = 7;

    public IEnumerable<string> Validate(IEnumerable<TimeSpan> pollIntervals)
    {
        if (LeaseSeconds is < 2 or > 3600)
        {
            yield return $"{Section}:LeaseSeconds must be from 2 to 3600.";
        }
        if (RunHistoryDays is < 1 or > 3650)
        {
            yield return $"{Section}:RunHistoryDays must be from 1 to 3650.";
        }
        var longest = pollIntervals.DefaultIfEmpty(TimeSpan.Zero).Max();
        if (LeaseSeconds < 2 * longest.TotalSeconds)
        {
            // Shorter, and the lease would lapse between two passes of a healthy holder.
            yield return $"{Section}:LeaseSeconds must be at least twice the longest poll interval ({longest.TotalSeconds:0} s).";
        }
    }
}

/// <summary>The rails' sections, bound and validated.</summary>
public sealed record RailSettings(IReadOnlyDictionary<string, EvmChainOptions> EvmChains, X402Options? X402, StripeOptions? Stripe, SchedulingOptions Scheduling)
{
    public static RailSettings Bind(IConfiguration configuration, List<string> problems)
    {
        var chains = new Dictionary<string, EvmChainOptions>(StringComparer.Ordinal);
        var known = typeof(EvmChainOptions).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToList();
        foreach (var section in configuration.GetSection(EvmChainOptions.Section).GetChildren())
        {
            var name = section.Key.ToLowerInvariant();
            foreach (var child in section.GetChildren().Where(c => !known.Contains(c.Key, StringComparer.OrdinalIgnoreCase)))
            {
                problems.Add($"{EvmChainOptions.Section}:{section.Key}:{child.Key} is not a setting (known: {string.Join(", ", known)}).");
            }
            var options = new EvmChainOptions();
            try
            {
                section.Bind(options);
            }
            catch (InvalidOperationException e)
            {
                problems.Add(e.Message.ReplaceLineEndings(" "));
                continue;
            }
            problems.AddRange(options.Validate(name));
            chains[name] = options;
        }
        foreach (var group in chains.Values.GroupBy(c => c.ChainId).Where(g => g.Count() > 1 && g.Key > 0))
        {
            problems.Add($"{EvmChainOptions.Section}: chain id {group.Key} is configured more than once.");
        }
        var x402 = BindOptional<X402Options>(configuration, X402Options.Section, problems, o => o.Validate());
        var stripe = BindOptional<StripeOptions>(configuration, StripeOptions.Section, problems, o => o.Validate());
        if (x402 is { ConfirmedByWatcher: true } && !chains.Values.Any(c => c.ChainId == x402.ChainId))
        {
            problems.Add($"{X402Options.Section}:Confirm is watcher, but no chain of {EvmChainOptions.Section} has chain id {x402.ChainId} to watch the settlements.");
        }
        var scheduling = new SchedulingOptions();
        configuration.GetSection(SchedulingOptions.Section).Bind(scheduling);
        problems.AddRange(scheduling.Validate(chains.Values.Select(c => TimeSpan.FromSeconds(c.PollIntervalSeconds))
            .Concat(x402 is null ? [] : [TimeSpan.FromSeconds(x402.ReconcileIntervalSeconds)])
            .Concat(stripe is null ? [] : [TimeSpan.FromSeconds(stripe.PollIntervalSeconds)])));
        return new RailSettings(chains, x402, stripe, scheduling);
    }

    /// <summary>A rail's section, bound and validated when present (a rail is enabled by its section); null when absent.</summary>
    private static T? BindOptional<T>(IConfiguration configuration, string sectionName, List<string> problems, Func<T, IEnumerable<string>> validate) where T : class, new()
    {
        var section = configuration.GetSection(sectionName);
        if (!section.Exists())
        {
            return null;
        }
        var known = typeof(T).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToList();
        foreach (var child in section.GetChildren().Where(c => !known.Contains(c.Key, StringComparer.OrdinalIgnoreCase)))
        {
            problems.Add($"{sectionName}:{child.Key} is not a setting (known: {string.Join(", ", known)}).");
        }
        var options = new T();
        try
        {
            section.Bind(options);
            problems.AddRange(validate(options));
        }
        catch (InvalidOperationException e)
        {
            problems.Add(e.Message.ReplaceLineEndings(" "));
        }
        return options;
    }
}
