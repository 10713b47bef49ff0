using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage.Deposits;

namespace Aisa.Settlement.Api.Rails;

/// <summary>
/// Gives agents their deposit addresses: one derivation index per agent, and on every address rail the address
/// that rail's xpub derives at it, stored so the rail's watcher knows whose wallet a payment fills.
/// </summary>
public sealed class DepositAddressService(RailRegistry rails, DepositAddressStore store)
{
    /// <summary>The agent's instructions on every address rail, giving it an index first if it has none.</summary>
    public async Task<IReadOnlyList<DepositInstructions>> ForAgentAsync(long agentId, CancellationToken cancellationToken)
    {
        var addressRails = rails.AddressRails.ToList();
        if (addressRails.Count == 0)
        {
            return [];
        }
        var index = await store.DerivationIndexAsync(agentId, cancellationToken);
        var addresses = addressRails.Select(r => new DepositAddress(0, r.Rail, r.AddressAt(index), agentId, index)).ToList();
        await store.AddAsync(addresses, cancellationToken);
        return addressRails.Select((rail, i) => rail.Instructions(addresses[i].Address, index)).ToList();
    }

    /// <summary>At start: addresses on a rail configured after agents got their index, so no payment to them is missed.</summary>
    public async Task<int> BackfillAsync(CancellationToken cancellationToken)
    {
        var added = 0;
        foreach (var rail in rails.AddressRails)
        {
            var missing = await store.WithoutAddressAsync(rail.Rail, cancellationToken);
            foreach (var chunk in missing.Chunk(1000))
            {
                await store.AddAsync(chunk.Select(m => new DepositAddress(0, rail.Rail, rail.AddressAt(m.DerivationIndex), m.AgentId, m.DerivationIndex)).ToList(), cancellationToken);
                added += chunk.Length;
            }
        }
        return added;
    }
}

/// <summary>A rail's watched addresses in memory, for an O(1) match per log; each pass loads only the new ones.</summary>
public sealed class DepositAddressBook(string rail, DepositAddressStore store)
{
    private readonly Dictionary<string, long> _owners = new(StringComparer.Ordinal);
    private long _lastId;

    public int Count => _owners.Count;

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        foreach (var address in await store.AfterAsync(rail, _lastId, cancellationToken))
        {
            _owners[address.Address] = address.AgentId;
            _lastId = address.Id;
        }
    }

    public long? OwnerOf(string address) => _owners.TryGetValue(address, out var agent) ? agent : null;
}
