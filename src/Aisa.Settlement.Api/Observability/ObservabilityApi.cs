using System.Diagnostics;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Rails;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Storage.Jobs;
using Prometheus;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Api.Deposits;
using Aisa.Settlement.Api.Jobs;

namespace Aisa.Settlement.Api.Observability;

public sealed record Health(string Status);

public sealed record CheckStatus(string Status);

public sealed record ReadinessChecks(CheckStatus Database, CheckStatus Scheduler);

/// <param name="Status">ok, stale (no success within its interval) or never.</param>
/// <param name="Interval">Seconds between its passes.</param>
public sealed record JobReadiness(string Status, DateTimeOffset? LastSuccessAt, double Interval);

/// <param name="Status">ready or unready.</param>
public sealed record Readiness(string Status, ReadinessChecks Checks, IReadOnlyDictionary<string, JobReadiness> Jobs);

/// <summary><c>/healthz</c> (the process answers), <c>/readyz</c> (it can do its work), <c>/metrics</c> (Prometheus text).</summary>
public static class ObservabilityApi
{
    public const string CorrelationHeader = "X-Correlation-Id";

    public static IServiceCollection AddObservability(this IServiceCollection services)
    {
        services.AddSingleton<SettlementMetrics>();
        services.AddSingleton<ChargeMinutes>();
        services.AddHostedService<ChargeMinutesFlush>();
        return services;
    }

    public static IEndpointRouteBuilder MapObservabilityApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("").WithTags("Observability");
        group.MapGet("/healthz", () => Results.Json(new Health("healthy")))
            .WithSummary("Liveness: the process answers. It reads nothing, so a slow database never gets a live instance restarted.").Answers<Health>(200);
        group.MapGet("/readyz", ReadyAsync)
            .WithSummary("Readiness: the database answers and the scheduler runs (503 otherwise); each job's last success is reported.")
            .Answers<Readiness>(200).Answers<Readiness>(503);
        group.MapGet("/metrics", async (HttpContext context, SettlementMetrics metrics, MetricsOptions options, Microsoft.Extensions.Options.IOptions<Configuration.OperatorOptions> operatorOptions) =>
        {
            // Business volumes: behind the operator key where the endpoint is reachable from outside.
            if (options.RequireOperatorKey && !Dashboard.DashboardAuth.IsOperatorKey(operatorOptions.Value.ApiKey, context.Request.Headers[Operator.OperatorApi.KeyHeader].ToString()))
            {
                await ApiResponses.Error(401, "unauthorized", $"Send the operator key in {Operator.OperatorApi.KeyHeader}.").ToResult().ExecuteAsync(context);
                return;
            }
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        }).WithSummary("Metrics in Prometheus text format (with Metrics:RequireOperatorKey, behind X-AISA-Operator-Key).")
            .Produces<string>(200, "text/plain").Refuses(401);
        return endpoints;
    }

    private static async Task<IResult> ReadyAsync(IDatabase database, JobServer server, JobStore jobs, RecurringJobs scheduled, TimeProvider clock,
        ILogger<ReadinessCheck> logger, CancellationToken cancellationToken)
    {
        // Anyone may ask: the answer says whether, never where the database is or what it said. That is in the log and
        // on the operator's dashboard.
        var ready = true;
        try
        {
            await database.PingAsync(cancellationToken);
        }
        catch (StorageUnavailableException e)
        {
            ready = false;
            logger.LogWarning("Not ready: {Error}", e.Message);
        }
        var databaseCheck = new CheckStatus(ready ? "ok" : "failing");
        var schedulerRunning = server.Running;
        ready &= schedulerRunning;
        // A rail whose node is down does not make the instance unready: verify and the other rails still work, and
        // taking every instance out of the load balancer for one chain would stop them all. It is reported instead.
        var now = clock.GetUtcNow();
        var states = ready ? (await jobs.StatesAsync(now.AddDays(-1), cancellationToken)).ToDictionary(s => s.Job) : [];
        var jobStates = scheduled.Jobs.ToDictionary(job => job.Name, job =>
        {
            var success = states.GetValueOrDefault(job.Name)?.LastSuccessAt;
            var status = success is not { } at ? "never" : job.Current(at, now) ? "ok" : "stale";
            return new JobReadiness(status, success, job.Interval.TotalSeconds);
        });
        return Results.Json(new Readiness(ready ? "ready" : "unready", new ReadinessChecks(databaseCheck, new CheckStatus(schedulerRunning ? "ok" : "failing")), jobStates),
            statusCode: ready ? 200 : 503);
    }

    /// <summary>
    /// Every request gets a correlation id (the caller's <c>X-Correlation-Id</c> when it is a sane token, else a new
    /// one), echoed in the response and carried by every log line written for it; a Debug line logs the request's end.
    /// </summary>
    public static IApplicationBuilder UseCorrelationIds(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Aisa.Settlement.Requests");
        return app.Use(async (context, next) =>
        {
            var sent = context.Request.Headers[CorrelationHeader].ToString();
            var id = sent.Length is > 0 and <= 64 && sent.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':')
                ? sent
                : Guid.NewGuid().ToString("N");
            context.TraceIdentifier = id;
            context.Response.Headers[CorrelationHeader] = id;
            using var scope = logger.BeginScope(new Dictionary<string, object> { ["CorrelationId"] = id });
            // Debug: at thousands of verifies a second, a line per request would make the console the bottleneck. Checked
            // first, so that a request pays nothing for the line when it is off (its arguments would be boxed).
            if (!logger.IsEnabled(LogLevel.Debug))
            {
                await next(context);
                return;
            }
            var started = Stopwatch.GetTimestamp();
            await next(context);
            logger.LogDebug("{Method} {Path} answered {Status} in {Milliseconds:0.0} ms",
                context.Request.Method, context.Request.Path.Value, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        });
    }
}

/// <summary>The log category of readiness answers.</summary>
public sealed class ReadinessCheck;

/// <summary><c>Metrics</c>: who may read <c>/metrics</c>.</summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>When true, <c>/metrics</c> answers only a caller sending the operator key (Prometheus can send it as a header).</summary>
    public bool RequireOperatorKey { get; set; }
}
