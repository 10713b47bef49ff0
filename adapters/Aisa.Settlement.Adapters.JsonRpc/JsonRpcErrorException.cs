namespace Aisa.Settlement.Adapters.JsonRpc;

/// <summary>An error object the node returned: a valid answer, so not retried (a range too large, a bad filter, an unsupported parameter).</summary>
public sealed class JsonRpcErrorException(long code, string message) : Exception($"JSON-RPC error {code}: {message}")
{
    public long Code { get; } = code;
}
