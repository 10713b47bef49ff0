using System.Buffers.Binary;
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
