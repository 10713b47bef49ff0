using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Adapters.JsonRpc;

/// <summary>
/// JSON-RPC 2.0 over HTTP: batch requests with distinct ids, a timeout per request, fail-over between endpoints and retries
/// with exponential back-off for transport faults (connection refused, HTTP 5xx, malformed JSON, timeouts). An error object
/// in the answer is the node's word and is not retried. Errors name an endpoint by host only: its path may hold an API key.
/// </summary>
public sealed class JsonRpcClient(HttpClient http, JsonRpcOptions options)
{
    private int _preferred;

    /// <summary>HTTP requests sent so far (a batch is one).</summary>
    public long Calls { get; private set; }

    public async Task<JsonNode> CallAsync(string method, JsonArray parameters, CancellationToken cancellationToken) =>
        (await BatchAsync([(method, parameters)], cancellationToken))[0]!;

    /// <summary>Sends the calls as one batch and returns their results in order; an error object throws <see cref="JsonRpcErrorException"/>.</summary>
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
        throw new JsonRpcException($"JSON-RPC {string.Join(", ", calls.Select(c => c.Method).Distinct())} failed on every endpoint: {string.Join("; ", failures.TakeLast(options.Endpoints.Count))}");
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
                throw new JsonRpcErrorException(error["code"]?.GetValue<long>() ?? 0, error["message"]?.GetValue<string>() ?? "");
            }
            results[id] = reply["result"];
            seen[id] = true;
        }
        return seen.All(s => s) ? results : throw new InvalidDataException("a batch answer misses some calls");
    }

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
