using System.Buffers.Binary;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage.Deposits;

namespace Aisa.Settlement.Api.Rails;

/// <summary>
/// Gives agents their deposit addresses: one derivation index per agent, and on every address rail the address
/// that rail's xpub derives at it, stored so the rail's watcher knows whose wallet a payment fills. An address once
/// handed out is watched for good: when a chain's xpub changes, agents get the new key's address and the old one
/// still credits them.
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
        var addresses = addressRails.Select(r => new DepositAddress(0, r.Rail, r.AddressAt(index), agentId, index, r.KeyId)).ToList();
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
        foreach (var rail in rails.AddressRails)
        {
            var missing = await store.WithoutAddressAsync(rail.Rail, cancellationToken);
            foreach (var chunk in missing.Chunk(1000))
            {
                await store.AddAsync(chunk.Select(m => new DepositAddress(0, rail.Rail, rail.AddressAt(m.DerivationIndex), m.AgentId, m.DerivationIndex, rail.KeyId)).ToList(), cancellationToken);
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
        foreach (var rail in rails.AddressRails)
        {
            var earlier = new List<DepositAddressKey>();
            foreach (var key in await store.KeysAsync(rail.Rail, cancellationToken))
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

/// <summary>
/// A rail's watched addresses in memory, for an O(1) match per log; each pass loads only the new ones, a page at a
/// time. Keyed by the address's 20 bytes rather than its 42-character text: 100,000 addresses take ≈ 4 MB.
/// </summary>
public sealed class DepositAddressBook(string rail, DepositAddressStore store)
{
    private const int Page = 10_000;

    private readonly Dictionary<(ulong, ulong, uint), long> _owners = new();
    private long _lastId;

    public int Count => _owners.Count;

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var page = await store.AfterAsync(rail, _lastId, Page, cancellationToken);
            foreach (var address in page)
            {
                if (Key(address.Address) is { } key)
                {
                    _owners[key] = address.AgentId;
                }
                _lastId = address.Id;
            }
            if (page.Count < Page)
            {
                return;
            }
        }
    }

    public long? OwnerOf(string address) => Key(address) is { } key && _owners.TryGetValue(key, out var agent) ? agent : null;

    /// <summary>The 20 bytes of a <c>0x</c>-prefixed hex address, in any case; null for anything else.</summary>
    private static (ulong, ulong, uint)? Key(string address)
    {
        Span<byte> bytes = stackalloc byte[20];
        if (address.Length != 42 || !address.StartsWith("0x", StringComparison.Ordinal)
            || Convert.FromHexString(address.AsSpan(2), bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != 20)
        {
            return null;
        }
        return (BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]), BinaryPrimitives.ReadUInt32BigEndian(bytes[16..]));
    }
}
