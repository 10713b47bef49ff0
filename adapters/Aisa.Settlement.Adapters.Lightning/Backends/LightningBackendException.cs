namespace Aisa.Settlement.Adapters.Lightning.Backends;

/// <summary>The Lightning backend (or the rate source) could not be reached, or answered an error or something unreadable. The message never holds a key or a macaroon.</summary>
public sealed class LightningBackendException(string message, Exception? inner = null) : Exception(message, inner);
