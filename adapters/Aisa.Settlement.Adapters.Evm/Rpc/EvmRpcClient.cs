using System.Globalization;
using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Adapters.Evm.Rpc;

/// <summary>Why a JSON-RPC call failed after its retries: the last error of each endpoint, without URLs' secrets.</summary>
public sealed class EvmRpcException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An error object the node returned: a valid answer, so not retried (a range too large, a bad filter).</summary>
public sealed class EvmRpcErrorException(long code, string message) : Exception($"JSON-RPC error {code}: {message}")
{
    public long Code { get; } = code;
}

public sealed record EvmRpcOptions
{
    /// <summary>Tried in order; a failing endpoint hands over to the next, and the next call starts with the one that answered.</summary>
    public required IReadOnlyList<Uri> Endpoints { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Rounds over all endpoints before a call gives up.</summary>
    public int Attempts { get; init; } = 3;

    public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>
/// Ethereum JSON-RPC over HTTP: batch requests, a timeout per request, fail-over between endpoints and retries with
/// exponential back-off for transport faults (connection refused, HTTP 5xx, malformed JSON, timeouts).
/// </summary>
public sealed class EvmRpcClient(HttpClient http, EvmRpcOptions options)
{
    private int _preferred;

    public long Calls { get; private set; }

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

    public async Task<JsonNode> CallAsync(string method, JsonArray parameters, CancellationToken cancellationToken) =>
        (await BatchAsync([(method, parameters)], cancellationToken))[0]!;

    /// <summary>Sends the calls as one batch and returns their results in order; an error object throws <see cref="EvmRpcErrorException"/>.</summary>
    public async Task<JsonNode?[]> BatchAsync(IReadOnlyList<(string Method, JsonArray Parameters)> calls, CancellationToken cancellationToken)
    {
        var body = new JsonArray(calls.Select((call, id) => (JsonNode?)new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = id,
            ["method"] = call.Method,
            ["params"] = call.Parameters.DeepClone(),
        }).ToArray()).ToJsonString();

        var failures = new List<string>();
        var backoff = options.FirstBackoff;
        for (var round = 0; round < options.Attempts; round++)
        {
            for (var tried = 0; tried < options.Endpoints.Count; tried++)
            {
                var index = (_preferred + tried) % options.Endpoints.Count;
                var endpoint = options.Endpoints[index];
                try
                {
                    var results = await SendAsync(endpoint, body, calls.Count, cancellationToken);
                    _preferred = index;
                    return results;
                }
                catch (Exception e) when (e is HttpRequestException or JsonException or InvalidDataException
                    || (e is TaskCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested))
                {
                    failures.Add($"{Describe(endpoint)}: {Describe(e)}");
                }
            }
            if (round + 1 < options.Attempts)
            {
                await Task.Delay(backoff, cancellationToken);
                backoff *= 2;
            }
        }
        throw new EvmRpcException($"JSON-RPC {string.Join(", ", calls.Select(c => c.Method).Distinct())} failed on every endpoint: {string.Join("; ", failures.TakeLast(options.Endpoints.Count))}");
    }

    private async Task<JsonNode?[]> SendAsync(Uri endpoint, string body, int count, CancellationToken cancellationToken)
    {
        Calls++;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(endpoint, content, timeout.Token);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"HTTP {(int)response.StatusCode}");
        }
        var answer = await response.Content.ReadFromJsonAsync<JsonNode>(timeout.Token) as JsonArray
            ?? throw new InvalidDataException("the answer to a batch is not a JSON array");
        var results = new JsonNode?[count];
        var seen = new bool[count];
        foreach (var item in answer)
        {
            if (item is not JsonObject reply || reply["id"] is not JsonValue idValue || !idValue.TryGetValue<int>(out var id) || id < 0 || id >= count)
            {
                throw new InvalidDataException("a batch answer without a known id");
            }
            if (reply["error"] is JsonObject error)
            {
                throw new EvmRpcErrorException(error["code"]?.GetValue<long>() ?? 0, error["message"]?.GetValue<string>() ?? "");
            }
            results[id] = reply["result"];
            seen[id] = true;
        }
        return seen.All(s => s) ? results : throw new InvalidDataException("a batch answer misses some calls");
    }

    public static string Quantity(long value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    public static long ParseQuantity(string hex) =>
        hex.StartsWith("0x", StringComparison.Ordinal) && hex.Length > 2
            ? long.Parse(hex.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)
            : throw new InvalidDataException($"not a JSON-RPC quantity: {hex}");

    // An endpoint's path and query may hold an API key: name it by host only.
    private static string Describe(Uri endpoint) => endpoint.IsDefaultPort ? endpoint.Host : $"{endpoint.Host}:{endpoint.Port}";

    private static string Describe(Exception e) => e switch
    {
        TaskCanceledException or TimeoutException => "timed out",
        HttpRequestException { InnerException: System.Net.Sockets.SocketException socket } => socket.SocketErrorCode.ToString(),
        JsonException or InvalidDataException => "malformed answer (" + e.Message.Split('.')[0] + ")",
        _ => e.Message,
    };
}

/// <summary>One ERC-20 <c>Transfer(from, to, value)</c> log.</summary>
public sealed record TransferLog(string Token, string From, string To, BigInteger Value, long BlockNumber, string BlockHash, string TransactionHash, long LogIndex)
{
    /// <summary>keccak256("Transfer(address,address,uint256)").</summary>
    public const string Topic = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

    /// <summary>Null for a log that is not a standard ERC-20 Transfer (ERC-721 puts the value in a topic).</summary>
    public static TransferLog? Parse(JsonObject log)
    {
        var topics = log["topics"]?.AsArray();
        var data = log["data"]?.GetValue<string>();
        if (topics is not { Count: 3 } || !string.Equals(topics[0]?.GetValue<string>(), Topic, StringComparison.OrdinalIgnoreCase) || data is not { Length: 66 })
        {
            return null;
        }
        if (log["removed"]?.GetValue<bool>() == true)
        {
            return null;
        }
        return new TransferLog(
            log["address"]!.GetValue<string>().ToLowerInvariant(),
            TopicAddress(topics[1]!.GetValue<string>()),
            TopicAddress(topics[2]!.GetValue<string>()),
            BigInteger.Parse("0" + data[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
            EvmRpcClient.ParseQuantity(log["blockNumber"]!.GetValue<string>()),
            log["blockHash"]!.GetValue<string>().ToLowerInvariant(),
            log["transactionHash"]!.GetValue<string>().ToLowerInvariant(),
            EvmRpcClient.ParseQuantity(log["logIndex"]!.GetValue<string>()));
    }

    /// <summary>
    /// Where this log stands among its transaction's logs (0 for the first), read from the transaction's receipt: what
    /// stays the same when the transaction is mined again in another block, where its block-wide log index changes.
    /// Null when the receipt is of another block (it was mined again meanwhile) or does not hold the log.
    /// </summary>
    public int? PositionIn(JsonObject receipt)
    {
        if (!string.Equals(receipt["blockHash"]?.GetValue<string>(), BlockHash, StringComparison.OrdinalIgnoreCase) || receipt["logs"] is not JsonArray logs)
        {
            return null;
        }
        for (var i = 0; i < logs.Count; i++)
        {
            if (logs[i]?["logIndex"]?.GetValue<string>() is { } index && EvmRpcClient.ParseQuantity(index) == LogIndex)
            {
                return i;
            }
        }
        return null;
    }

    private static string TopicAddress(string topic) => "0x" + topic[^40..].ToLowerInvariant();
}
