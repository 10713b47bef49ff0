namespace Aisa.Settlement.Storage.Jobs;

/// <summary>What an operator asked of one job: read once per tick, before anything else is done.</summary>
/// <param name="RunRequested">An operator asked for a run that no pass has taken yet.</param>
public sealed record JobControl(bool Paused, bool RunRequested);
