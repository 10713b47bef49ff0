using System.Threading.Channels;

namespace Aisa.Settlement.Storage;

/// <summary>
/// Work that arrives one item at a time, done a group at a time: items queue, and up to
/// <c>maxConcurrent</c> workers each take what is waiting (at most <c>maxGroup</c>) and hand it to one call.
/// Under load one database round trip serves many requests; alone, an item goes at once. The handler
/// completes every item's <see cref="TaskCompletionSource{TResult}"/>; what it leaves open when it throws
/// fails with that exception.
/// </summary>
public sealed class Coalescer<TItem, TResult>(int maxConcurrent, int maxGroup, Func<IReadOnlyList<Coalescer<TItem, TResult>.Pending>, Task> handle)
{
    public sealed record Pending(TItem Item, TaskCompletionSource<TResult> Completion);

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>();
    private int _activeWorkers;

    /// <summary>Once queued, the item is handled even if the caller stops waiting.</summary>
    public Task<TResult> RunAsync(TItem item)
    {
        var pending = new Pending(item, new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        _queue.Writer.TryWrite(pending);
        StartWorkerIfNeeded();
        return pending.Completion.Task;
    }

    private void StartWorkerIfNeeded()
    {
        while (true)
        {
            var active = Volatile.Read(ref _activeWorkers);
            if (active >= maxConcurrent)
            {
                return;
            }
            if (Interlocked.CompareExchange(ref _activeWorkers, active + 1, active) == active)
            {
                _ = Task.Run(WorkAsync);
                return;
            }
        }
    }

    private async Task WorkAsync()
    {
        var group = new List<Pending>(maxGroup);
        while (true)
        {
            group.Clear();
            while (group.Count < maxGroup && _queue.Reader.TryRead(out var pending))
            {
                group.Add(pending);
            }
            if (group.Count == 0)
            {
                Interlocked.Decrement(ref _activeWorkers);
                // An item queued after our last read, while every worker was busy, would otherwise wait for the next one.
                if (_queue.Reader.TryPeek(out _))
                {
                    StartWorkerIfNeeded();
                }
                return;
            }
            try
            {
                await handle(group);
            }
            catch (Exception e)
            {
                foreach (var pending in group)
                {
                    pending.Completion.TrySetException(e);
                }
            }
            foreach (var pending in group)
            {
                pending.Completion.TrySetException(new InvalidOperationException("The handler left this item unanswered."));
            }
        }
    }
}
