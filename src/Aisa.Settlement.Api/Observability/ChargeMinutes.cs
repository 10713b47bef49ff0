using System.Collections.Concurrent;
using Aisa.Settlement.Api.Rails;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Operations;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Api.Deposits;
using Aisa.Settlement.Api.Jobs;

namespace Aisa.Settlement.Api.Observability;

/// <summary>
/// Charges per minute for the dashboard's chart, counted in memory by each instance and written every few seconds as
/// one row per minute and instance. Reading the chart from the transfers instead would scan every charge of the last
/// hour on each refresh — millions of rows at thousands of charges a second, on the database verify depends on.
/// </summary>
public sealed class ChargeMinutes(OperationsStore operations, ServiceInstance instance, TimeProvider clock)
{
    private readonly ConcurrentDictionary<long, Bucket> _minutes = new();
    private readonly SemaphoreSlim _flushing = new(1, 1);

    private sealed class Bucket
    {
        public long Charges;
        public long Micros;
    }

    public static long MinuteOf(DateTimeOffset at) => at.ToUnixTimeMilliseconds() / 60_000 * 60_000;

    public void Add(Micros amount)
    {
        var bucket = _minutes.GetOrAdd(MinuteOf(clock.GetUtcNow()), _ => new Bucket());
        Interlocked.Increment(ref bucket.Charges);
        Interlocked.Add(ref bucket.Micros, amount.Value);
    }

    /// <summary>Writes this instance's minutes (their totals so far); minutes older than the last two are then forgotten.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken);
        try
        {
            var current = MinuteOf(clock.GetUtcNow());
            var minutes = _minutes.Select(m => new ChargeMinute(DateTimeOffset.FromUnixTimeMilliseconds(m.Key),
                Interlocked.Read(ref m.Value.Charges), new Micros(Interlocked.Read(ref m.Value.Micros)))).ToList();
            if (minutes.Count > 0)
            {
                await operations.RecordChargeMinutesAsync(instance.Id, minutes, cancellationToken);
            }
            foreach (var minute in minutes.Where(m => m.Minute.ToUnixTimeMilliseconds() < current - 60_000))
            {
                // A charge counted into it after the snapshot above would be lost: one more minute of margin makes that moot.
                _minutes.TryRemove(minute.Minute.ToUnixTimeMilliseconds(), out _);
            }
        }
        finally
        {
            _flushing.Release();
        }
    }
}

/// <summary>Flushes <see cref="ChargeMinutes"/> every 5 s, and once more on a clean stop.</summary>
public sealed class ChargeMinutesFlush(ChargeMinutes minutes, TimeProvider clock, ILogger<ChargeMinutesFlush> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(5), clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            try
            {
                await minutes.FlushAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Charges per minute not written: {Error}", e.Message);
            }
        }
        try
        {
            await minutes.FlushAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning("Charges per minute not written at stop: {Error}", e.Message);
        }
    }
}
