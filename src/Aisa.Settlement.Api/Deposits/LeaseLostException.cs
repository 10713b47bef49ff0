namespace Aisa.Settlement.Api.Deposits;

/// <summary>A pass lost its watcher's lease to another pass (it outlived the lease): it stops, having stored what it applied.</summary>
public sealed class LeaseLostException(string message) : Exception(message);
