using System.Buffers.Binary;
using Aisa.Settlement.Storage.Deposits;

namespace Aisa.Settlement.Api.Deposits;

/// <summary>
/// A rail's watched addresses in memory, for an O(1) match per payment; each pass loads only the new ones, a page at a
/// time. A hex address (<c>0x</c> and 20 bytes) is keyed by its bytes rather than its 42-character text: 100,000 take
/// ≈ 4 MB; any other form (a base58 key) by its text as stored.
/// </summary>
public sealed class DepositAddressBook(string rail, DepositAddressStore store)
{
    private const int Page = 10_000;

    private readonly Dictionary<(ulong, ulong, uint), long> _owners = new();
    private readonly Dictionary<string, long> _others = new(StringComparer.Ordinal);
    private long _lastId;

    public int Count => _owners.Count + _others.Count;

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
                else
                {
                    _others[address.Address] = address.AgentId;
                }
                _lastId = address.Id;
            }
            if (page.Count < Page)
            {
                return;
            }
        }
    }

    public long? OwnerOf(string address) =>
        Key(address) is { } key ? (_owners.TryGetValue(key, out var agent) ? agent : null)
        : _others.TryGetValue(address, out var other) ? other : null;

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
