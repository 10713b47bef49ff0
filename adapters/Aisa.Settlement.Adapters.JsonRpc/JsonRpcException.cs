namespace Aisa.Settlement.Adapters.JsonRpc;

/// <summary>Why a JSON-RPC call failed after its retries: the last error of each endpoint, without URLs' secrets.</summary>
public sealed class JsonRpcException(string message, Exception? inner = null) : Exception(message, inner);
