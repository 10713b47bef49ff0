using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.JsonRpc;

namespace Aisa.Settlement.Adapters.Evm.Rpc;

/// <summary>Ethereum's JSON-RPC methods, over the shared transport (<see cref="JsonRpcClient"/>: batches, fail-over, back-off).</summary>
public sealed class EvmRpcClient(HttpClient http, JsonRpcOptions options)
{
    private readonly JsonRpcClient _rpc = new(http, options);

    /// <summary>HTTP requests sent so far (a batch is one).</summary>
    public long Calls => _rpc.Calls;

    public Task<JsonNode> CallAsync(string method, JsonArray parameters, CancellationToken cancellationToken) => _rpc.CallAsync(method, parameters, cancellationToken);

    public Task<JsonNode?[]> BatchAsync(IReadOnlyList<(string Method, JsonArray Parameters)> calls, CancellationToken cancellationToken) => _rpc.BatchAsync(calls, cancellationToken);

    public async Task<long> BlockNumberAsync(CancellationToken cancellationToken) =>
        ParseQuantity((await CallAsync("eth_blockNumber", [], cancellationToken)).GetValue<string>());

    /// <summary>Hash of each block by number, one batch request; null for a block the node does not have.</summary>
    public async Task<IReadOnlyDictionary<long, string?>> BlockHashesAsync(IReadOnlyCollection<long> numbers, CancellationToken cancellationToken)
    {
        var list = numbers.Distinct().ToList();
        if (list.Count == 0)
        {
            return new Dictionary<long, string?>();
        }
        var results = await BatchAsync(list.Select(n => ("eth_getBlockByNumber", new JsonArray(Quantity(n), false))).ToList(), cancellationToken);
        var hashes = new Dictionary<long, string?>(list.Count);
        for (var i = 0; i < list.Count; i++)
        {
            hashes[list[i]] = results[i] is JsonObject block ? block["hash"]?.GetValue<string>() : null;
        }
        return hashes;
    }

    /// <summary>The answer of a read-only contract call at the head.</summary>
    /// <summary>The receipts of transactions, in batches of 100; null for one the node does not have.</summary>
    public async Task<IReadOnlyDictionary<string, JsonObject?>> ReceiptsAsync(IReadOnlyCollection<string> transactions, CancellationToken cancellationToken)
    {
        var receipts = new Dictionary<string, JsonObject?>(StringComparer.Ordinal);
        foreach (var chunk in transactions.Distinct(StringComparer.Ordinal).Chunk(100))
        {
            var results = await BatchAsync(chunk.Select(tx => ("eth_getTransactionReceipt", new JsonArray(tx))).ToList(), cancellationToken);
            for (var i = 0; i < chunk.Length; i++)
            {
                receipts[chunk[i]] = results[i] as JsonObject;
            }
        }
        return receipts;
    }

    public async Task<string> EthCallAsync(string to, string data, CancellationToken cancellationToken) =>
        (await CallAsync("eth_call", [new JsonObject { ["to"] = to, ["data"] = data }, "latest"], cancellationToken)).GetValue<string>();

    /// <summary>Logs of one contract with these topics (null for any) in [from, to].</summary>
    public async Task<JsonArray> LogsAsync(string address, IReadOnlyList<string?> topics, long from, long to, CancellationToken cancellationToken) =>
        (await CallAsync("eth_getLogs", [new JsonObject
        {
            ["fromBlock"] = Quantity(from),
            ["toBlock"] = Quantity(to),
            ["address"] = address.ToLowerInvariant(),
            ["topics"] = new JsonArray(topics.Select(t => (JsonNode?)(t is null ? null : JsonValue.Create(t))).ToArray()),
        }], cancellationToken)).AsArray();

    /// <summary>ERC-20 <c>Transfer</c> logs of these tokens in [from, to]: every recipient, matched by the caller.</summary>
    public async Task<IReadOnlyList<TransferLog>> TransferLogsAsync(IReadOnlyCollection<string> tokens, long from, long to, CancellationToken cancellationToken)
    {
        var filter = new JsonObject
        {
            ["fromBlock"] = Quantity(from),
            ["toBlock"] = Quantity(to),
            ["address"] = new JsonArray(tokens.Select(t => (JsonNode?)JsonValue.Create(t.ToLowerInvariant())).ToArray()),
            ["topics"] = new JsonArray(TransferLog.Topic),
        };
        var result = await CallAsync("eth_getLogs", [filter], cancellationToken);
        return result.AsArray().Select(log => TransferLog.Parse(log!.AsObject())).Where(log => log is not null).Select(log => log!).ToList();
    }

    public static string Quantity(long value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    public static long ParseQuantity(string hex) =>
        hex.StartsWith("0x", StringComparison.Ordinal) && hex.Length > 2
            ? long.Parse(hex.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)
            : throw new InvalidDataException($"not a JSON-RPC quantity: {hex}");
}
