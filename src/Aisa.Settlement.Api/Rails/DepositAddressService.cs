using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage.Deposits;

namespace Aisa.Settlement.Api.Rails;

/// <summary>
/// Gives agents their deposit addresses: one derivation index per agent, and on every address rail the address
/// that rail's xpub derives at it, stored so the rail's watcher knows whose wallet a payment fills. An address once
/// handed out is watched for good: when a chain's xpub changes, agents get the new key's address and the old one
/// still credits them.
/// </summary>
public sealed class DepositAddressService(IRailRegistry rails, DepositAddressStore store)
{
    /// <summary>The agent's instructions on every address rail, giving it an index first if it has none.</summary>
    public async Task<IReadOnlyList<DepositInstructions>> ForAgentAsync(long agentId, CancellationToken cancellationToken)
    {
        var addressRails = rails.All.OfType<IAddressDepositRail>().ToList();
        if (addressRails.Count == 0)
        {
            return [];
        }
        var index = await store.DerivationIndexAsync(agentId, cancellationToken);
        var addresses = addressRails.Select(r => new DepositAddress(0, r.Id.Value, r.AddressAt(index), agentId, index, r.KeyId)).ToList();
        var owners = await store.AddAsync(addresses, cancellationToken);
        for (var i = 0; i < addresses.Count; i++)
        {
            if (owners[i] != agentId)
            {
                // Two keys derived one address (never expected): handing it out would fill another agent's wallet.
                throw new InvalidOperationException(
                    $"The {addresses[i].Rail} address {addresses[i].Address} derived for agent {agentId} at index {index} is stored as agent {owners[i]}'s: not handed out.");
            }
        }
        return addressRails.Select((rail, i) => rail.Instructions(addresses[i].Address, index)).ToList();
    }

    /// <summary>At start: addresses on a rail configured after agents got their index, so no payment to them is missed.</summary>
    public async Task<int> BackfillAsync(CancellationToken cancellationToken)
    {
        var added = 0;
        foreach (var rail in rails.All.OfType<IAddressDepositRail>())
        {
            var missing = await store.WithoutAddressAsync(rail.Id.Value, cancellationToken);
            foreach (var chunk in missing.Chunk(1000))
            {
                await store.AddAsync(chunk.Select(m => new DepositAddress(0, rail.Id.Value, rail.AddressAt(m.DerivationIndex), m.AgentId, m.DerivationIndex, rail.KeyId)).ToList(), cancellationToken);
                added += chunk.Length;
            }
        }
        return added;
    }

    /// <summary>
    /// At start: per address rail whose key changed since it handed out addresses, how many addresses earlier keys derived
    /// (they stay watched). Addresses stored before keys were named are judged by the newest of them, derived again.
    /// </summary>
    public async Task<IReadOnlyList<(IAddressDepositRail Rail, long EarlierAddresses, int EarlierKeys)>> ChangedKeysAsync(CancellationToken cancellationToken)
    {
        var changed = new List<(IAddressDepositRail, long, int)>();
        foreach (var rail in rails.All.OfType<IAddressDepositRail>())
        {
            var earlier = new List<DepositAddressKey>();
            foreach (var key in await store.KeysAsync(rail.Id.Value, cancellationToken))
            {
                if (key.KeyId is null)
                {
                    var newest = await store.FindAsync(key.NewestId, cancellationToken);
                    if (newest is not null && !string.Equals(rail.AddressAt(newest.DerivationIndex), newest.Address, StringComparison.OrdinalIgnoreCase))
                    {
                        earlier.Add(key);
                    }
                }
                else if (key.KeyId != rail.KeyId)
                {
                    earlier.Add(key);
                }
            }
            if (earlier.Count > 0)
            {
                changed.Add((rail, earlier.Sum(k => k.Addresses), earlier.Count));
            }
        }
        return changed;
    }
}
