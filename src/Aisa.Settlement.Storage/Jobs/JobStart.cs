namespace Aisa.Settlement.Storage.Jobs;

/// <summary>A pass that began: how many failures in a row came before it (1 after a success) and when it began.</summary>
public sealed record JobStart(string Job, string Instance, int Attempt, DateTimeOffset StartedAt);
