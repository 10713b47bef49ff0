namespace Aisa.Settlement.Api.Jobs;

/// <summary>
/// A pass that failed, as Hangfire records it: the message is the error kept in the job's state (the cause's type and
/// message, or that the pass lost its lease), the cause its inner exception.
/// </summary>
public sealed class JobPassFailedException(string message, Exception cause) : Exception(message, cause);
