using System.Collections.Concurrent;

namespace Aisa.Settlement.Api.Guard;

/// <summary>
/// Each crawler's paid requests over the last minute, per instance: a sliding log, so a crawler allowed N a minute never
/// gets N + 1 in any 60 seconds here, and is told exactly when the next one is admitted. Behind a load balancer of k
/// instances a crawler can reach k × N; the money limits (budgets) hold across instances, this pace limit is local.
/// </summary>
public sealed class RequestRates(TimeProvider clock)
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<long, Queue<long>> _admitted = new();

    /// <summary>Admits one request of the crawler, or says how long until one would be.</summary>
    public bool TryAdmit(long agentId, int perMinute, out TimeSpan retryAfter)
    {
        var now = clock.GetUtcNow().UtcTicks;
        var log = _admitted.GetOrAdd(agentId, _ => new Queue<long>());
        lock (log)
        {
            while (log.Count > 0 && now - log.Peek() >= Window.Ticks)
            {
                log.Dequeue();
            }
            while (log.Count > perMinute)
            {
                // The limit was lowered: what is over it no longer matters.
                log.Dequeue();
            }
            if (log.Count < perMinute)
            {
                log.Enqueue(now);
                retryAfter = TimeSpan.Zero;
                return true;
            }
            retryAfter = TimeSpan.FromTicks(log.Peek() + Window.Ticks - now);
            return false;
        }
    }
}
