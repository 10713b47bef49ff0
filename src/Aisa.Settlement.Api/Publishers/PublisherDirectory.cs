using System.Collections.Concurrent;
using Aisa.Settlement.Pricing;
using Aisa.Settlement.Storage.Pricing;
using Aisa.Settlement.Storage.Publishers;

namespace Aisa.Settlement.Api.Publishers;

/// <summary>
/// A publisher and its rules as verify needs them, kept a few seconds per instance: verify runs thousands of
/// times a second, rules change by hand. A change made through this instance applies at once; one made through
/// another instance within <see cref="Freshness"/>.
/// </summary>
public sealed class PublisherDirectory(PublisherStore publishers, RuleStore rules, TimeProvider clock)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(5);

    public sealed record Entry(Publisher Publisher, IReadOnlyList<PricingRule> Rules, DateTimeOffset LoadedAt);

    private readonly ConcurrentDictionary<string, Entry> _byName = new(StringComparer.Ordinal);

    public async Task<Entry?> FindAsync(string domainOrEmail, CancellationToken cancellationToken)
    {
        var name = domainOrEmail.Trim().ToLowerInvariant();
        if (_byName.TryGetValue(name, out var cached) && clock.GetUtcNow() - cached.LoadedAt < Freshness)
        {
            return cached;
        }
        var publisher = await publishers.FindByDomainOrEmailAsync(name, cancellationToken);
        if (publisher is null)
        {
            _byName.TryRemove(name, out _);
            return null;
        }
        var entry = new Entry(publisher, await rules.ListAsync(publisher.Id, cancellationToken), clock.GetUtcNow());
        _byName[name] = entry;
        return entry;
    }

    public void Forget(Publisher publisher)
    {
        _byName.TryRemove(publisher.Domain, out _);
        _byName.TryRemove(publisher.Email, out _);
    }
}
