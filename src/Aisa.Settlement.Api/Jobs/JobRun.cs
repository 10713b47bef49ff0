using System.Text.Json.Nodes;
using Aisa.Settlement.Storage.Jobs;

namespace Aisa.Settlement.Api.Jobs;

/// <summary>A run of a recurring job (a pass, not a tick that skipped), as Hangfire keeps it.</summary>
public sealed record JobRun(long Id, string Job, string? Instance, int? Attempt, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, JobOutcome Outcome,
    string? Error, JsonNode? Summary);
