using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Rails;

/// <summary>
/// What the rails' registrations tell the host before anything starts: the configuration problems they found (start-up
/// stops with one line naming each) and the recurring passes they need scheduled. One per service collection.
/// </summary>
public sealed class RailSetup
{
    private readonly List<string> _problems = [];
    private readonly List<ScheduledPass> _passes = [];
    private readonly List<RailId> _payers = [];

    public IReadOnlyList<string> Problems => _problems;

    public IReadOnlyList<ScheduledPass> Passes => _passes;

    /// <summary>The collection's setup, added on first use.</summary>
    public static RailSetup Of(IServiceCollection services)
    {
        if (services.FirstOrDefault(d => d.ServiceType == typeof(RailSetup))?.ImplementationInstance is RailSetup setup)
        {
            return setup;
        }
        setup = new RailSetup();
        services.AddSingleton(setup);
        return setup;
    }

    public void Problem(string problem) => _problems.Add(problem);

    /// <summary>A watcher pass over <paramref name="rail"/> every <paramref name="interval"/> (the rail is an <see cref="IRailWatcher"/>).</summary>
    public void Watch(RailId rail, TimeSpan interval) =>
        _passes.Add(new ScheduledPass($"watch:{rail}", interval, $"Watches {rail} for deposits and counts their confirmations.", rail));

    /// <summary>The rail pays publishers (it is an <see cref="IPayoutRail"/>): the host sends and tracks its payouts.</summary>
    public void PaysOut(RailId rail) => _payers.Add(rail);

    /// <summary>The rails that pay publishers.</summary>
    public IReadOnlyList<RailId> Payers => _payers;

    /// <summary>A rail job (an <see cref="IRailJob"/> of that name) every <paramref name="interval"/>.</summary>
    public void Schedule(string name, TimeSpan interval, string purpose) => _passes.Add(new ScheduledPass(name, interval, purpose, null));

    /// <summary>
    /// A rail's section bound and validated when present (a rail is enabled by its section); null when absent. Keys the
    /// options do not have are problems, as a value that does not bind or validate.
    /// </summary>
    public T? BindSection<T>(IConfiguration configuration, string sectionName, Func<T, IEnumerable<string>> validate) where T : class, new()
    {
        var section = configuration.GetSection(sectionName);
        if (!section.Exists())
        {
            return null;
        }
        ReportUnknownKeys<T>(section, sectionName);
        var options = new T();
        try
        {
            section.Bind(options);
            _problems.AddRange(validate(options));
        }
        catch (InvalidOperationException e)
        {
            // The binder's message names the key and the type; it never holds more than the bad value itself.
            _problems.Add(e.Message.ReplaceLineEndings(" "));
        }
        return options;
    }

    /// <summary>Every key of <paramref name="section"/> that <typeparamref name="T"/> has no setting for, as a problem naming it.</summary>
    public void ReportUnknownKeys<T>(IConfigurationSection section, string at) => _problems.AddRange(UnknownKeys<T>(section, at));

    /// <summary>
    /// The one check of unknown keys, for every options section of the service and its rails: a key <typeparamref name="T"/>
    /// has no setting for (a typo, a setting that was removed) is named, never silently ignored.
    /// </summary>
    public static IEnumerable<string> UnknownKeys<T>(IConfigurationSection section, string at)
    {
        var known = typeof(T).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToList();
        return section.GetChildren().Where(c => !known.Contains(c.Key, StringComparer.OrdinalIgnoreCase))
            .Select(child => $"{at}:{child.Key} is not a setting (known: {string.Join(", ", known)}).");
    }
}

/// <summary>A recurring pass the host schedules: a rail's watcher (<see cref="Watcher"/> set) or a rail job of that name.</summary>
public sealed record ScheduledPass(string Name, TimeSpan Interval, string Purpose, RailId? Watcher);
