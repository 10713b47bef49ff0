namespace Aisa.Settlement.Adapters.JsonRpc;

public sealed record JsonRpcOptions
{
    /// <summary>Tried in order; a failing endpoint hands over to the next, and the next call starts with the one that answered.</summary>
    public required IReadOnlyList<Uri> Endpoints { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Rounds over all endpoints before a call gives up.</summary>
    public int Attempts { get; init; } = 3;

    public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromMilliseconds(200);
}
