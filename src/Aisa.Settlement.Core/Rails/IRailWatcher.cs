namespace Aisa.Settlement.Rails;

/// <summary>
/// A watcher: one bounded pass over the outside world from a stored cursor (a block, a slot, a signature, an invoice
/// index), reporting new payments and where every open deposit now stands. The host stores the cursor and books the
/// observations; the rail never does either.
/// </summary>
public interface IRailWatcher : IRail
{
    /// <summary>How often the watcher runs.</summary>
    TimeSpan PollInterval { get; }

    /// <summary>
    /// One bounded pass from <see cref="PollContext.Cursor"/>, a step at a time. Each step's observations are booked and its
    /// cursor stored before the next is read, so a failure late in a long catch-up keeps what came before it; a step's
    /// cursor never passes what it observed. Throws when the outside world cannot be read; the pass goes on from the last
    /// stored cursor next time.
    /// </summary>
    IAsyncEnumerable<PollResult> PollAsync(PollContext context, CancellationToken cancellationToken);
}

/// <summary>A deposit that may still be credited, as the store knows it: the watcher re-checks it where the rail put it.</summary>
public sealed record OpenDeposit(long Id, string ExternalId, ChainPosition? Block);

/// <param name="Cursor">Where the last pass stopped, as the rail wrote it; null on the first pass.</param>
/// <param name="OwnerOf">The agent a watched address (or reference) belongs to, or null.</param>
public sealed record PollContext(string? Cursor, IReadOnlyList<OpenDeposit> Open, Func<string, long?> OwnerOf);

/// <summary>One step of a pass.</summary>
/// <param name="Cursor">Where the next step (or pass) starts; stored only after the observations are booked.</param>
/// <param name="Head">The newest position the rail reported (a block, a slot), for the lag the dashboard shows.</param>
/// <param name="Summary">Figures of the pass so far for the job's page (blocks scanned, logs read, RPC calls): the last step's are the pass's.</param>
public sealed record PollResult(string Cursor, long Head, IReadOnlyList<DepositObservation> Observations, IReadOnlyDictionary<string, long> Summary);
