namespace Aisa.Settlement.Storage.Jobs;

/// <summary>
/// Where a recurring job stands, as the job engine does not keep it: the operator's controls, the last pass and the last
/// successful one (its summary holds the head a watcher saw), and the failures counted since a given time.
/// </summary>
public sealed record JobState(
    string Job,
    bool Paused,
    bool RunRequested,
    DateTimeOffset? LastStartedAt,
    DateTimeOffset? LastEndedAt,
    JobOutcome? LastOutcome,
    string? LastInstance,
    string? LastError,
    DateTimeOffset? LastSuccessAt,
    string? LastSummary,
    int FailuresInARow,
    long FailuresSince);
