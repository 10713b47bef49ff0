namespace Aisa.Settlement.Storage.Jobs;

public sealed record JobLease(string Job, string Owner, DateTimeOffset AcquiredAt, DateTimeOffset ExpiresAt);
