namespace Aisa.Settlement.Storage.Jobs;

/// <summary>
/// One run's hold on its job's lease: the writes only the holder may make (a watcher's cursor) name it, and are refused
/// once another run has taken the lease.
/// </summary>
public sealed record LeaseFence(string Job, string Owner, long Token);
