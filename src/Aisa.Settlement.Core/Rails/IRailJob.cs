using System.Text.Json.Nodes;

namespace Aisa.Settlement.Rails;

/// <summary>
/// A rail's own recurring pass that is not a watcher over a cursor (a reconciler, a poll of open sessions), declared at
/// registration with <see cref="RailSetup.Schedule"/> and run by the host's job engine on one instance at a time.
/// </summary>
public interface IRailJob
{
    string Name { get; }

    /// <summary>One pass; the figures it returns are kept as the pass's summary. Throws when the outside world cannot be read.</summary>
    Task<JsonObject> RunAsync(CancellationToken cancellationToken);
}
