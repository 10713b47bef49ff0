using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Rails;

/// <summary>
/// The rails of the service collection, by id: registered by each rail's <c>Add…Rail</c> call. Read on first use, not when
/// the registry is made: rails depend on the deposit book, which depends on the registry.
/// </summary>
public sealed class RailRegistry(IServiceProvider services) : IRailRegistry
{
    private readonly Lazy<(IReadOnlyList<IRail> All, Dictionary<RailId, IRail> ById, RailId? Default)> _rails = new(() => Load(services));

    public IReadOnlyList<IRail> All => _rails.Value.All;

    public RailId? DefaultTopUp => _rails.Value.Default;

    public IRail? Find(RailId rail) => _rails.Value.ById.GetValueOrDefault(rail);

    private static (IReadOnlyList<IRail>, Dictionary<RailId, IRail>, RailId?) Load(IServiceProvider services)
    {
        var all = services.GetServices<IRail>().ToList();
        var byId = new Dictionary<RailId, IRail>();
        foreach (var rail in all)
        {
            if (!byId.TryAdd(rail.Id, rail))
            {
                throw new InvalidOperationException($"Two rails are named {rail.Id}.");
            }
        }
        return (all, byId, services.GetServices<DefaultTopUpRail>().Select(d => (RailId?)d.Rail).FirstOrDefault());
    }
}

/// <summary>Registered by the rail that takes a top-up naming no rail (today's clients expect the card checkout).</summary>
public sealed record DefaultTopUpRail(RailId Rail);
