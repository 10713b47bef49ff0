using Aisa.Settlement.Adapters.Evm;
using Aisa.Settlement.Rails;

namespace Aisa.Settlement.Api.Rails;

/// <summary>The rails this instance has configured, by name.</summary>
public sealed class RailRegistry
{
    private readonly Dictionary<string, IRailAdapter> _rails;

    public RailRegistry(IEnumerable<IRailAdapter> rails) =>
        _rails = rails.ToDictionary(r => r.Rail, StringComparer.Ordinal);

    public IReadOnlyCollection<IRailAdapter> All => _rails.Values;

    public IEnumerable<IAddressDepositRail> AddressRails => _rails.Values.OfType<IAddressDepositRail>();

    public IRailAdapter? Find(string rail) => _rails.GetValueOrDefault(rail);

    /// <summary>One HttpClient for every chain's JSON-RPC: pooled connections, renewed so DNS changes are seen.</summary>
    public static HttpClient RpcHttpClient() => new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        // Each call has its own timeout (RpcTimeoutSeconds); this one only bounds what escapes it.
        Timeout = TimeSpan.FromMinutes(5),
    };

    public static IEnumerable<IRailAdapter> Create(RailSettings settings)
    {
        if (settings.EvmChains.Count == 0)
        {
            yield break;
        }
        var http = RpcHttpClient();
        foreach (var (name, options) in settings.EvmChains)
        {
            yield return new EvmRail(name, options, http);
        }
    }
}
