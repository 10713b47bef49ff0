using Aisa.Settlement.Api.Rails;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Jobs;
using Aisa.Settlement.Storage.Operations;
using Prometheus;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Api.Deposits;
using Aisa.Settlement.Api.Jobs;

namespace Aisa.Settlement.Api.Observability;

/// <summary>
/// The service's metrics in Prometheus text format, on a registry of this instance (several instances may share a
/// test process). Counters count what this instance did; gauges are read from the database at each scrape, so
/// every instance reports the same deposits and job health.
/// </summary>
public sealed class SettlementMetrics
{
    private readonly Counter _decisions;
    private readonly Counter _charges;
    private readonly Counter _chargedMicros;
    private readonly Counter _jobRuns;

    private readonly ChargeMinutes _minutes;

    public SettlementMetrics(OperationsStore operations, JobStore jobs, RecurringJobs scheduled, ChargeMinutes minutes, TimeProvider clock, ILogger<SettlementMetrics> logger)
    {
        _minutes = minutes;
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        _decisions = factory.CreateCounter("aisa_verify_decisions_total", "Verify answers by HTTP status (200 served, 402 payment required, 403 refused).", "status");
        _charges = factory.CreateCounter("aisa_charges_total", "Charges posted to the ledger by verify.");
        _chargedMicros = factory.CreateCounter("aisa_charged_micros_total", "Money charged by verify, in micros of USD.");
        _jobRuns = factory.CreateCounter("aisa_job_runs_total", "Runs of the recurring jobs on this instance, by outcome.", "job", "outcome");
        var deposits = factory.CreateGauge("aisa_deposits", "Deposits by rail and state.", "rail", "state");
        var depositAmounts = factory.CreateGauge("aisa_deposit_micros", "Amount of the deposits by rail and state, in micros of USD.", "rail", "state");
        var lag = factory.CreateGauge("aisa_confirmations_lag_seconds", "Seconds since the job's last successful pass: how old its confirmation counts are.", "job");
        var head = factory.CreateGauge("aisa_watcher_head_block", "The chain head a watcher saw at its last successful pass.", "job");
        var databaseUp = factory.CreateGauge("aisa_metrics_database_up", "1 when the gauges below were read from the database at this scrape, 0 when it could not be read.");
        Registry.AddBeforeCollectCallback(async cancellationToken =>
        {
            try
            {
                await ReadGaugesAsync(cancellationToken);
                databaseUp.Set(1);
            }
            catch (Exception e) when (e is Storage.StorageUnavailableException or System.Data.Common.DbException or TimeoutException)
            {
                // The counters are still worth scraping; the gauges keep their last values and say so. Why is for the log.
                databaseUp.Set(0);
                logger.LogWarning("Metrics: the database could not be read: {Error}", e.Message);
            }
        });

        async Task ReadGaugesAsync(CancellationToken cancellationToken)
        {
            foreach (var tally in await operations.DepositTalliesAsync(cancellationToken))
            {
                deposits.WithLabels(tally.Rail, tally.State).Set(tally.Count);
                depositAmounts.WithLabels(tally.Rail, tally.State).Set(tally.Amount.Value);
            }
            var now = clock.GetUtcNow();
            var states = (await jobs.StatesAsync(now, cancellationToken)).ToDictionary(s => s.Job);
            foreach (var job in scheduled.Jobs)
            {
                var state = states.GetValueOrDefault(job.Name);
                lag.WithLabels(job.Name).Set(state?.LastSuccessAt is { } ended ? (now - ended).TotalSeconds : double.NaN);
                if (JobSummaries.Head(state?.LastSummary) is { } block)
                {
                    head.WithLabels(job.Name).Set(block);
                }
            }
        }
    }

    public CollectorRegistry Registry { get; }

    public void Decided(int status) => _decisions.WithLabels(status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();

    public void Charged(Micros amount)
    {
        _charges.Inc();
        _chargedMicros.Inc(amount.Value);
        _minutes.Add(amount);
    }

    public void JobRan(string job, JobOutcome outcome) => _jobRuns.WithLabels(job, JobStore.Wire(outcome)).Inc();
}

/// <summary>What a job's run summary says, where the dashboard and the metrics need it.</summary>
public static class JobSummaries
{
    /// <summary>The chain head a watcher's pass saw, if its summary (JSON) names one.</summary>
    public static long? Head(string? summary)
    {
        if (summary is null)
        {
            return null;
        }
        var json = System.Text.Json.Nodes.JsonNode.Parse(summary);
        return json?["head"] is System.Text.Json.Nodes.JsonValue value && value.TryGetValue<long>(out var head) ? head : null;
    }
}
