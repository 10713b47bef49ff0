using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.JsonRpc;

namespace Aisa.Settlement.Adapters.Solana.Rpc;

/// <summary>One entry of <c>getSignaturesForAddress</c>, newest first.</summary>
public sealed record SignatureInfo(string Signature, long Slot, JsonNode? Error);

/// <summary>The Solana JSON-RPC methods the watcher and the payouts use, over the shared transport (<see cref="JsonRpcClient"/>: batches, fail-over, back-off).</summary>
public sealed class SolanaRpcClient(HttpClient http, JsonRpcOptions options)
{
    /// <summary>The most entries <c>getSignaturesForAddress</c> answers at once.</summary>
    public const int SignaturesPage = 1_000;

    private const int TransactionsPerBatch = 100;
    private const int StatusesPerCall = 256;

    private readonly JsonRpcClient _rpc = new(http, options);

    /// <summary>HTTP requests sent so far (a batch is one).</summary>
    public long Calls => _rpc.Calls;

    /// <summary>Any method, for what the watcher does not read (a payout's blockhash, its send).</summary>
    public Task<JsonNode> CallAsync(string method, JsonArray parameters, CancellationToken cancellationToken) => _rpc.CallAsync(method, parameters, cancellationToken);

    public async Task<long> SlotAsync(string commitment, CancellationToken cancellationToken) =>
        (await _rpc.CallAsync("getSlot", [new JsonObject { ["commitment"] = commitment }], cancellationToken)).GetValue<long>();

    /// <summary>Signatures of transactions naming <paramref name="address"/>, newest first, older than <paramref name="before"/> and newer than <paramref name="until"/>.</summary>
    public async Task<IReadOnlyList<SignatureInfo>> SignaturesAsync(string address, string commitment, string? before, string? until, int limit,
        CancellationToken cancellationToken)
    {
        var config = new JsonObject { ["commitment"] = commitment, ["limit"] = limit };
        if (before is not null)
        {
            config["before"] = before;
        }
        if (until is not null)
        {
            config["until"] = until;
        }
        var result = await _rpc.CallAsync("getSignaturesForAddress", [address, config], cancellationToken);
        return result.AsArray().Select(entry => new SignatureInfo(
            entry!["signature"]!.GetValue<string>(),
            entry["slot"]!.GetValue<long>(),
            entry["err"])).ToList();
    }

    /// <summary>
    /// The transactions, <c>jsonParsed</c> (v0 ones too), in batches; null for one the node does not have at
    /// <paramref name="commitment"/>.
    /// </summary>
    public async Task<IReadOnlyList<JsonObject?>> TransactionsAsync(IReadOnlyList<string> signatures, string commitment, CancellationToken cancellationToken)
    {
        var transactions = new List<JsonObject?>(signatures.Count);
        foreach (var chunk in signatures.Chunk(TransactionsPerBatch))
        {
            var results = await _rpc.BatchAsync(chunk.Select(signature => ("getTransaction", new JsonArray(signature, new JsonObject
            {
                ["commitment"] = commitment,
                ["encoding"] = "jsonParsed",
                // Without it a node refuses a version-0 transaction (-32015).
                ["maxSupportedTransactionVersion"] = 0,
            }))).ToList(), cancellationToken);
            transactions.AddRange(results.Select(result => result as JsonObject));
        }
        return transactions;
    }

    /// <summary>Each signature's status (its slot and commitment), or null for one the node does not know: a transaction of a dropped fork.</summary>
    public async Task<IReadOnlyList<(long Slot, string Status)?>> StatusesAsync(IReadOnlyList<string> signatures, CancellationToken cancellationToken)
    {
        var statuses = new List<(long, string)?>(signatures.Count);
        foreach (var chunk in signatures.Chunk(StatusesPerCall))
        {
            var result = await _rpc.CallAsync("getSignatureStatuses", [new JsonArray(chunk.Select(s => (JsonNode?)s).ToArray()), new JsonObject { ["searchTransactionHistory"] = true }],
                cancellationToken);
            statuses.AddRange(result["value"]!.AsArray().Select(status => status is JsonObject found
                ? ((long, string)?)(found["slot"]!.GetValue<long>(), found["confirmationStatus"]?.GetValue<string>() ?? "finalized")
                : null));
        }
        return statuses;
    }
}
