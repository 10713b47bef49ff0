using System.Globalization;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Observability;
using Aisa.Settlement.Api.Rails;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Deposits;
using Aisa.Settlement.Storage.Jobs;
using Aisa.Settlement.Storage.Operations;
using Microsoft.AspNetCore.Antiforgery;
using Quartz;
using static Aisa.Settlement.Api.Dashboard.Html;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Api.Deposits;
using Aisa.Settlement.Api.Jobs;

namespace Aisa.Settlement.Api.Dashboard;

/// <summary>
/// <c>/dashboard</c>: overview, deposits (live confirmation bars), jobs (run now, pause, resume, history), instances and
/// the ledger, server-rendered; <c>/dashboard/api/*</c> is the JSON the live parts follow.
/// </summary>
public static class DashboardPages
{
    private const int PageSize = 100;

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapDashboardLogin();
        var pages = endpoints.MapGroup("/dashboard").RequireAuthorization(DashboardAuth.Policy).ExcludeFromDescription();
        pages.MapGet("", OverviewAsync);
        pages.MapGet("/deposits", DepositsPage);
        pages.MapGet("/deposits/{id:long}", DepositAsync);
        pages.MapPost("/deposits/{id:long}/assign", AssignAsync);
        pages.MapGet("/jobs", JobsAsync);
        pages.MapPost("/jobs/{name}/run", (string name, HttpContext context) => JobActionAsync(name, context, JobAction.Run));
        pages.MapPost("/jobs/{name}/pause", (string name, HttpContext context) => JobActionAsync(name, context, JobAction.Pause));
        pages.MapPost("/jobs/{name}/resume", (string name, HttpContext context) => JobActionAsync(name, context, JobAction.Resume));
        pages.MapGet("/instances", InstancesAsync);
        pages.MapGet("/ledger", LedgerAsync);

        var api = endpoints.MapGroup("/dashboard/api").RequireAuthorization(DashboardAuth.Policy).WithTags("Dashboard");
        api.MapGet("/overview", OverviewJsonAsync).WithSummary("Deposits by rail and state, credited today, charges per minute over the last hour, job health.");
        api.MapGet("/deposits", DepositsJsonAsync).WithSummary("Deposits newest first (rail= and state= filter), with confirmations k/N and evidence.");
        return endpoints;
    }

    private static string Csrf(HttpContext context) => context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context).RequestToken!;

    // ---------------------------------------------------------------- overview

    /// <summary>What the overview page and its JSON both show, read once per request.</summary>
    private sealed record OverviewFacts(DateTimeOffset Now, IReadOnlyList<DepositTally> Tallies, long CreditedCount, Micros CreditedAmount,
        IReadOnlyDictionary<string, JobHealth> Health);

    private static async Task<OverviewFacts> OverviewFactsAsync(OperationsStore operations, JobStore jobs, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (creditedCount, creditedAmount) = await operations.CreditedSinceAsync(new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero), cancellationToken);
        return new OverviewFacts(now, await operations.DepositTalliesAsync(cancellationToken), creditedCount, creditedAmount,
            (await jobs.HealthAsync(now.AddDays(-1), cancellationToken)).ToDictionary(h => h.Job));
    }

    private static async Task<IResult> OverviewJsonAsync(OperationsStore operations, JobStore jobs, LeasedJobs scheduled, ChargeMinutes minutes, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        // This instance's charges up to now; the other instances' arrive within their next flush (5 s).
        await minutes.FlushAsync(cancellationToken);
        var facts = await OverviewFactsAsync(operations, jobs, clock, cancellationToken);
        return Results.Json(new
        {
            deposits = facts.Tallies.Select(t => new { t.Rail, t.State, t.Count, amount = t.Amount }),
            creditedToday = new { count = facts.CreditedCount, amount = facts.CreditedAmount },
            openPayouts = 0,
            chargesPerMinute = (await operations.ChargesPerMinuteAsync(facts.Now.AddHours(-1), cancellationToken)).Select(m => new { minute = m.Minute, m.Charges, amount = m.Amount }),
            jobs = scheduled.Jobs.Select(job =>
            {
                var h = facts.Health.GetValueOrDefault(job.Name);
                var lastSuccess = h?.LastSuccess?.EndedAt;
                return new
                {
                    job = job.Name,
                    lastSuccessAt = lastSuccess,
                    lagSeconds = lastSuccess is { } at ? (double?)Math.Round((facts.Now - at).TotalSeconds, 1) : null,
                    head = JobSummaries.Head(h?.LastSuccess),
                    lastOutcome = h is null ? null : JobStore.Wire(h.LastRun.Outcome),
                    failuresLastDay = h?.FailuresSince ?? 0,
                };
            }),
        }, ApiJson.Options);
    }

    private static async Task<IResult> OverviewAsync(HttpContext context, OperationsStore operations, JobStore jobs, LeasedJobs scheduled, Storage.IDatabase database,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        // Where the data lives and whether it answers: for the operator only (readiness tells the world just ok or failing).
        string? storageProblem = null;
        try
        {
            await database.PingAsync(cancellationToken);
        }
        catch (Storage.StorageUnavailableException e)
        {
            storageProblem = e.Message;
        }
        var storage = $"""<div class="card" id="storage"><div class="muted">Storage</div><div class="value {(storageProblem is null ? "ok" : "bad")}">{E(storageProblem is null ? "answering" : "not answering")}</div><div>{E($"{database.Provider} at {database.Target}")}</div>{(storageProblem is null ? "" : $"<div class=\"error\">{E(storageProblem)}</div>")}</div>""";
        if (storageProblem is not null)
        {
            return Page("Overview", "Overview", Csrf(context), $"<div class=\"cards\">{storage}</div><p>Nothing else can be shown until the database answers.</p>");
        }
        var (now, tallies, creditedCount, creditedAmount, health) = await OverviewFactsAsync(operations, jobs, clock, cancellationToken);
        var failures = health.Values.Sum(h => h.FailuresSince);
        var states = Enum.GetValues<DepositState>().Select(s => s.ToWire()).ToList();
        var rails = tallies.Select(t => t.Rail).Distinct().ToList();
        var depositRows = rails.Select(rail =>
            $"<tr><td>{E(rail)}</td>{string.Concat(states.Select(state => $"<td class=\"num\">{E(tallies.FirstOrDefault(t => t.Rail == rail && t.State == state)?.Count ?? 0)}</td>"))}</tr>");
        var watcherRows = scheduled.Jobs.Select(job =>
        {
            var h = health.GetValueOrDefault(job.Name);
            var lastSuccess = h?.LastSuccess?.EndedAt;
            var css = lastSuccess is not { } at ? "warn" : job.Current(at, now) ? "ok" : "bad";
            return $"<tr><td>{E(job.Name)}</td><td class=\"{css}\">{E(Ago(lastSuccess, now))}</td><td class=\"num\">{E(JobSummaries.Head(h?.LastSuccess))}</td>" +
                $"<td>{E(h is null ? "no run yet" : JobStore.Wire(h.LastRun.Outcome))}</td><td class=\"num\">{E(h?.FailuresSince ?? 0)}</td></tr>";
        });
        var body = $"""
            <div class="cards">
              <div class="card"><div class="muted">Credited today</div><div class="value">{E(creditedAmount)}</div><div>{E(creditedCount)} deposits</div></div>
              <div class="card"><div class="muted">Open payouts</div><div class="value">0</div><div class="muted">payouts are not built yet</div></div>
              <div class="card"><div class="muted">Failed job runs (24 h)</div><div class="value {(failures > 0 ? "bad" : "ok")}" id="failed-runs">{E(failures)}</div></div>
              <div class="card"><div class="muted">Charges (last hour)</div><div class="value" id="charges-last-hour">…</div></div>
              {storage}
            </div>
            <h2>Charges per minute (last hour)</h2>
            <svg class="chart" data-live="charges" data-source="/dashboard/api/overview" width="600" height="120" viewBox="0 0 600 120" role="img" aria-label="Charges per minute"></svg>
            <h2>Deposits by state</h2>
            {(rails.Count == 0 ? "<p class=\"muted\">No deposits yet.</p>" : Table(["rail", .. states], depositRows))}
            <h2>Watchers and jobs</h2>
            {(scheduled.Jobs.Count == 0 ? "<p class=\"muted\">No rail is configured: no watcher runs.</p>" : Table(["job", "last success", "head block", "last run", "failures (24 h)"], watcherRows))}
            """;
        return Page("Overview", "Overview", Csrf(context), body);
    }

    // ---------------------------------------------------------------- deposits

    /// <summary>The rail and state filters; an unknown state is a problem to say, not a filter to drop.</summary>
    private static (string? Rail, DepositState? State, string? Problem) DepositFilterOf(HttpRequest request)
    {
        var rail = request.Query["rail"].ToString();
        var stateText = request.Query["state"].ToString();
        if (stateText.Length > 0 && !DepositStates.TryParse(stateText, out _))
        {
            return (null, null, $"state is one of {string.Join(", ", Enum.GetValues<DepositState>().Select(s => s.ToWire()))}.");
        }
        DepositState? state = DepositStates.TryParse(stateText, out var parsed) ? parsed : null;
        return (rail.Length == 0 ? null : rail, state, null);
    }

    private static object DepositJson(Deposit d) => new
    {
        id = d.Id,
        rail = d.Rail,
        state = d.State.ToWire(),
        confirmations = d.Confirmations,
        confirmationsRequired = d.ConfirmationsRequired,
        amount = (d.Amount ?? d.RequestedAmount)?.ToBalanceString(),
        agentId = d.AgentId,
        evidence = Evidence(d),
        updatedAt = Time(d.UpdatedAt),
    };

    private static string Evidence(Deposit d) => string.Join(" ", new[]
    {
        d.TransactionHash is { } tx ? $"tx {tx}" + (d.LogIndex is { } log ? $":{log}" : "") : null,
        d.BlockNumber is { } block ? $"block {block}" : null,
        d.TransactionHash is null && d.ExternalId is { } id ? $"ref {id}" : null,
    }.Where(s => s is not null));

    private static async Task<IResult> DepositsJsonAsync(HttpRequest request, DepositStore deposits, CancellationToken cancellationToken)
    {
        var (rail, state, problem) = DepositFilterOf(request);
        if (problem is not null)
        {
            return ApiResponses.Error(400, "invalid_request", problem).ToResult();
        }
        var list = await deposits.ListAsync(new DepositFilter(rail, state, null, null, PageSize), cancellationToken);
        return Results.Json(new { deposits = list.Select(DepositJson) }, ApiJson.Options);
    }

    private static IResult DepositsPage(HttpContext context, IRailRegistry rails)
    {
        var (rail, state, problem) = DepositFilterOf(context.Request);
        var query = $"?rail={Uri.EscapeDataString(rail ?? "")}&state={Uri.EscapeDataString(state?.ToWire() ?? "")}";
        var railOptions = string.Concat(new[] { "" }.Concat(rails.All.Select(r => r.Id.Value)).Concat(rail is null ? [] : [rail]).Distinct()
            .Select(r => $"<option value=\"{E(r)}\"{(r == (rail ?? "") ? " selected" : "")}>{(r.Length == 0 ? "any rail" : E(r))}</option>"));
        var stateOptions = string.Concat(new[] { "" }.Concat(Enum.GetValues<DepositState>().Select(s => s.ToWire()))
            .Select(s => $"<option value=\"{E(s)}\"{(s == (state?.ToWire() ?? "") ? " selected" : "")}>{(s.Length == 0 ? "any state" : E(s))}</option>"));
        var body = $"""
            {(problem is null ? "" : $"<div class=\"error\">{E(problem)}</div>")}
            <form class="filters" method="get" action="/dashboard/deposits">
              <label>Rail<select name="rail">{railOptions}</select></label>
              <label>State<select name="state">{stateOptions}</select></label>
              <button type="submit">Filter</button>
            </form>
            <p class="muted">Updates every second. Reorged and unattributed deposits are highlighted, failed ones red.</p>
            {Table(["deposit", "rail", "state", "confirmations", "amount", "agent", "evidence", "updated"], [], $"id=\"deposits\" data-live=\"deposits\" data-source=\"/dashboard/api/deposits{E(query)}\"")}
            """;
        return Page("Deposits", "Deposits", Csrf(context), body);
    }

    private static async Task<IResult> DepositAsync(long id, HttpContext context, DepositStore deposits, CancellationToken cancellationToken)
    {
        if (await deposits.FindAsync(id, cancellationToken) is not { } deposit)
        {
            return Page("Deposit not found", "Deposits", Csrf(context), $"<p>No deposit has the id {E(id)}.</p>", 404);
        }
        var transitions = await deposits.TransitionsAsync(id, cancellationToken);
        var done = context.Request.Query["done"].ToString();
        var assign = deposit.State != DepositState.Unattributed ? "" : $"""
            <h2>Assign to an agent</h2>
            <p class="muted">The money is held in suspense. Assigning credits it to the agent's wallet, once.</p>
            <form class="filters" method="post" action="/dashboard/deposits/{E(id)}/assign">{CsrfField(Csrf(context))}
              <label>Agent id<input name="agentId" id="agentId" inputmode="numeric" required></label><button class="primary" type="submit">Assign and credit</button>
            </form>
            """;
        var body = $"""
            {(done.Length > 0 ? $"<div class=\"notice\" id=\"done\">{E(done)}</div>" : "")}
            <table><tbody>
            <tr><th>rail</th><td>{E(deposit.Rail)}</td></tr><tr><th>state</th><td>{E(deposit.State.ToWire())}</td></tr>
            <tr><th>confirmations</th><td>{E(deposit.Confirmations)}/{E(deposit.ConfirmationsRequired)}</td></tr>
            <tr><th>amount</th><td>{E(deposit.Amount ?? deposit.RequestedAmount)}</td></tr><tr><th>agent</th><td>{E(deposit.AgentId)}</td></tr>
            <tr><th>transaction</th><td class="mono">{E(deposit.TransactionHash)} {E(deposit.LogIndex)}</td></tr>
            <tr><th>block</th><td class="mono">{E(deposit.BlockNumber)} {E(deposit.BlockHash)}</td></tr>
            <tr><th>reference</th><td class="mono">{E(deposit.ExternalId)}</td></tr><tr><th>ledger key</th><td class="mono">{E(deposit.LedgerKey)}</td></tr>
            </tbody></table>
            <h2>Transitions</h2>
            {Table(["at", "from", "to", "confirmations", "evidence"], transitions.Select(t =>
                $"<tr><td>{E(t.CreatedAt)}</td><td>{E(t.From?.ToWire())}</td><td>{E(t.To.ToWire())}</td><td class=\"num\">{E(t.Confirmations)}</td><td class=\"mono\">{E(t.Evidence)}</td></tr>"))}
            {assign}
            """;
        return Page($"Deposit #{id}", "Deposits", Csrf(context), body);
    }

    private static async Task<IResult> AssignAsync(long id, HttpContext context, IAntiforgery antiforgery, DepositStore deposits, DepositProcessor processor,
        ILogger<DashboardLogin> logger, CancellationToken cancellationToken)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return DashboardAuth.CsrfRefused();
        }
        if (await deposits.FindAsync(id, cancellationToken) is not { } deposit)
        {
            return Page("Deposit not found", "Deposits", Csrf(context), $"<p>No deposit has the id {E(id)}.</p>", 404);
        }
        var form = await context.Request.ReadFormAsync(cancellationToken);
        if (!long.TryParse(form["agentId"], NumberStyles.None, CultureInfo.InvariantCulture, out var agentId))
        {
            return Page("Not assigned", "Deposits", Csrf(context), "<div class=\"error\">The agent id is a number (see the ledger page's agents). Nothing was done.</div>", 400);
        }
        var outcome = await processor.AssignAsync(deposit, agentId, cancellationToken);
        logger.LogInformation("Dashboard: deposit {Deposit} assigned to agent {Agent}: {Outcome}.", id, agentId, outcome);
        return outcome switch
        {
            AssignOutcome.Assigned => Results.Redirect($"/dashboard/deposits/{id}?done={Uri.EscapeDataString($"Assigned to agent {agentId} and credited.")}"),
            AssignOutcome.NoSuchAgent => Page("Not assigned", "Deposits", Csrf(context), $"<div class=\"error\">No agent has the id {E(agentId)}. Nothing was done.</div>", 404),
            _ => await AlreadyAssignedAsync(),
        };

        async Task<IResult> AlreadyAssignedAsync()
        {
            var now = await deposits.FindAsync(id, cancellationToken) ?? deposit;
            return Page("Not assigned", "Deposits", Csrf(context),
                $"<div class=\"error\">Deposit #{E(id)} is {E(now.State.ToWire())}{(now.AgentId is { } owner ? $", credited to agent {E(owner)}" : "")}: only an unattributed deposit can be assigned, once. Nothing was done.</div>", 409);
        }
    }

    // ---------------------------------------------------------------- jobs

    private enum JobAction { Run, Pause, Resume }

    // Marks the one-shot trigger of "run now", so the page's "next run" shows the schedule's.
    private const string ManualTrigger = "dashboard";

    private static async Task<IResult> JobActionAsync(string name, HttpContext context, JobAction action)
    {
        var services = context.RequestServices;
        if (!await services.GetRequiredService<IAntiforgery>().IsRequestValidAsync(context))
        {
            return DashboardAuth.CsrfRefused();
        }
        if (services.GetRequiredService<LeasedJobs>().Find(name) is null)
        {
            return Page("Job not found", "Jobs", Csrf(context), $"<p>No recurring job is named {E(name)}.</p>", 404);
        }
        var jobs = services.GetRequiredService<JobStore>();
        var logger = services.GetRequiredService<ILogger<DashboardLogin>>();
        string done;
        switch (action)
        {
            case JobAction.Run:
                // The request is stored for whichever instance holds the lease; firing the job here runs it at once when that is this one.
                await jobs.RequestRunAsync(name, context.RequestAborted);
                var scheduler = await services.GetRequiredService<ISchedulerFactory>().GetScheduler(context.RequestAborted);
                await scheduler.TriggerJob(new JobKey(name), new JobDataMap { [ManualTrigger] = true }, context.RequestAborted);
                done = $"Run of {name} requested: the instance holding its lease runs it once (at once if that is this one, else at its next tick), paused or not.";
                break;
            default:
                await jobs.SetPausedAsync(name, action == JobAction.Pause, context.RequestAborted);
                done = action == JobAction.Pause ? $"{name} paused on every instance; \"run now\" still runs it once." : $"{name} resumed.";
                break;
        }
        logger.LogInformation("Dashboard: {Action} {Job}.", action, name);
        return Results.Redirect($"/dashboard/jobs?done={Uri.EscapeDataString(done)}");
    }

    private static async Task<IResult> JobsAsync(HttpContext context, JobStore jobs, LeasedJobs scheduled, ISchedulerFactory schedulers, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var request = context.Request;
        var jobFilter = request.Query["job"].ToString();
        JobOutcome? outcome = Enum.TryParse<JobOutcome>(request.Query["outcome"].ToString(), ignoreCase: true, out var parsed) && !int.TryParse(request.Query["outcome"], out _) ? parsed : null;
        var csrf = Csrf(context);
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var paused = await jobs.PausedAsync(cancellationToken);
        var health = (await jobs.HealthAsync(now.AddDays(-1), cancellationToken)).ToDictionary(h => h.Job);
        var leases = (await jobs.LeasesAsync(cancellationToken)).ToDictionary(l => l.Job);
        var recurring = new List<string>();
        foreach (var job in scheduled.Jobs)
        {
            var trigger = (await scheduler.GetTriggersOfJob(new JobKey(job.Name), cancellationToken)).Where(t => !t.JobDataMap.ContainsKey(ManualTrigger)).MinBy(t => t.NextFireTimeUtc);
            var last = health.GetValueOrDefault(job.Name)?.LastRun;
            var isPaused = paused.Contains(job.Name);
            var lease = leases.GetValueOrDefault(job.Name);
            string Action(string verb, string label, bool primary = false) =>
                $"<form class=\"inline\" method=\"post\" action=\"/dashboard/jobs/{Uri.EscapeDataString(job.Name)}/{verb}\">{CsrfField(csrf)}<button type=\"submit\"{(primary ? " class=\"primary\"" : "")} data-action=\"{verb}\" data-job=\"{E(job.Name)}\">{label}</button></form>";
            recurring.Add($"""
                <tr data-job="{E(job.Name)}"><td>{E(job.Name)}<div class="muted">{E(job.Purpose)}</div></td><td>every {E(job.Interval.TotalSeconds)} s</td>
                <td>{(isPaused ? "<span class=\"warn\">paused</span>" : E(trigger?.NextFireTimeUtc))}</td>
                <td>{E(last?.StartedAt)}</td><td class="{(last?.Outcome == JobOutcome.Failed ? "bad" : "ok")}">{E(last is null ? "" : JobStore.Wire(last.Outcome))}</td>
                <td class="num">{E(last?.EndedAt is { } ended ? $"{(ended - last.StartedAt).TotalMilliseconds:0} ms" : "")}</td>
                <td class="mono">{E(lease?.Owner)}</td>
                <td>{Action("run", LastFinishedFailed(last) ? "Retry now" : "Run now", primary: true)} {(isPaused ? Action("resume", "Resume") : Action("pause", "Pause"))}</td></tr>
                """);
        }
        var runs = await jobs.RunsAsync(jobFilter.Length == 0 ? null : jobFilter, outcome, null, PageSize, cancellationToken);
        var runRows = runs.Select(r => $"""
            <tr class="{(r.Outcome == JobOutcome.Failed ? "failed" : "")}" data-run-id="{E(r.Id)}"><td class="num">{E(r.Id)}</td><td>{E(r.Job)}</td><td>{E(JobStore.Wire(r.Outcome))}</td>
            <td class="num">{E(r.Attempt)}</td><td>{E(r.StartedAt)}</td><td class="num">{E(r.EndedAt is { } ended ? $"{(ended - r.StartedAt).TotalMilliseconds:0} ms" : "")}</td>
            <td class="mono">{E(r.Instance)}</td><td class="mono run-error">{E(r.Error)}</td><td class="mono">{E(r.Summary)}</td></tr>
            """);
        var jobOptions = string.Concat(new[] { "" }.Concat(scheduled.Names).Select(j => $"<option value=\"{E(j)}\"{(j == jobFilter ? " selected" : "")}>{(j.Length == 0 ? "any job" : E(j))}</option>"));
        var outcomeOptions = string.Concat(new[] { "", "running", "succeeded", "failed" }.Select(o =>
            $"<option value=\"{o}\"{(o == (outcome is { } chosen ? JobStore.Wire(chosen) : "") ? " selected" : "")}>{(o.Length == 0 ? "any outcome" : o)}</option>"));
        var done = request.Query["done"].ToString();
        var body = $"""
            {(done.Length > 0 ? $"<div class=\"notice\" id=\"done\">{E(done)}</div>" : "")}
            <h2>Recurring jobs</h2>
            {(scheduled.Jobs.Count == 0 ? "<p class=\"muted\">No rail is configured: no job is scheduled.</p>"
                : Table(["job", "schedule", "next run", "last run", "outcome", "duration", "lease held by", ""], recurring, "id=\"recurring\""))}
            <h2>Run history</h2>
            <form class="filters" method="get" action="/dashboard/jobs">
              <label>Job<select name="job">{jobOptions}</select></label>
              <label>Outcome<select name="outcome">{outcomeOptions}</select></label>
              <button type="submit">Search</button>
            </form>
            {Table(["run", "job", "outcome", "attempt", "started", "duration", "instance", "error", "summary"], runRows, "id=\"runs\"")}
            """;
        return Page("Jobs", "Jobs", csrf, body);
    }

    // A run still going counts the failures in a row before it in its attempt.
    private static bool LastFinishedFailed(JobRun? last) => last is { Outcome: JobOutcome.Failed } or { Outcome: JobOutcome.Running, Attempt: > 1 };

    // ---------------------------------------------------------------- instances

    private static async Task<IResult> InstancesAsync(HttpContext context, JobStore jobs, ServiceInstance self, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var instances = await jobs.InstancesAsync(now - 6 * InstanceHeartbeat.Interval, cancellationToken);
        var leases = await jobs.LeasesAsync(cancellationToken);
        var rows = instances.Select(i => $"""
            <tr><td class="mono">{E(i.Id)}{(i.Id == self.Id ? " <span class=\"muted\">(this one)</span>" : "")}</td><td>{E(i.Host)}</td><td>{E(i.StartedAt)}</td>
            <td class="{(now - i.HeartbeatAt <= 2 * InstanceHeartbeat.Interval ? "ok" : "warn")}">{E(Ago(i.HeartbeatAt, now))}</td>
            <td>{E(string.Join(", ", leases.Where(l => l.Owner == i.Id && l.ExpiresAt > now).Select(l => l.Job)))}</td></tr>
            """);
        var body = $"""
            <p class="muted">Instances that sent a heartbeat in the last minute (one every {E(InstanceHeartbeat.Interval.TotalSeconds)} s), and the watchers whose lease each holds.</p>
            {Table(["instance", "host", "started", "heartbeat", "holds"], rows, "id=\"instances\"")}
            """;
        return Page("Instances", "Instances", Csrf(context), body);
    }

    // ---------------------------------------------------------------- ledger

    private static async Task<IResult> LedgerAsync(HttpContext context, ILedger ledger, OperationsStore operations, CancellationToken cancellationToken)
    {
        var search = context.Request.Query["q"].ToString().Trim();
        var audit = await ledger.AuditAsync(cancellationToken);
        var accounts = audit.Accounts
            .Where(a => search.Length == 0 || a.Code.Contains(search, StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(a => Math.Abs(a.DerivedBalance.Value)).Take(PageSize)
            .Select(a => $"<tr class=\"{(a.Frozen ? "highlight" : "")}\"><td class=\"mono\">{E(a.Code)}</td><td>{E(a.Kind)}</td><td class=\"num\">{E(a.DerivedBalance)}</td><td>{(a.StoredMatchesTransfers ? "<span class=\"ok\">ok</span>" : "<span class=\"bad\">stored differs</span>")}{(a.Frozen ? " <span class=\"warn\">frozen</span>" : "")}</td></tr>");
        var transfers = (await operations.RecentTransfersAsync(50, cancellationToken)).Select(t =>
            $"<tr><td class=\"num\">{E(t.Id)}</td><td>{E(t.CreatedAt)}</td><td>{E(t.Kind)}</td><td class=\"mono\">{E(t.DebitAccount)}</td><td class=\"mono\">{E(t.CreditAccount)}</td><td class=\"num\">{E(t.Amount)}</td><td class=\"mono\">{E(t.Key)}</td></tr>");
        var agents = (await operations.AgentsAsync(search, 20, cancellationToken)).Select(a =>
            $"<tr><td class=\"num\">{E(a.Id)}</td><td>{E(a.Email)}</td><td>{E(a.Name)}</td><td>{E(a.CrawlerType)}</td><td class=\"num\">{E(a.Balance)}</td><td>{E(a.CreatedAt)}</td></tr>");
        var publishers = (await operations.PublishersAsync(search, 20, cancellationToken)).Select(p =>
            $"<tr><td class=\"num\">{E(p.Id)}</td><td>{E(p.Email)}</td><td>{E(p.Domain)}</td><td>{E(p.Name)}</td><td>{E(p.CreatedAt)}</td></tr>");
        var body = $"""
            <div class="cards">
              <div class="card"><div class="muted">Audit</div><div class="value {(audit.Balanced ? "ok" : "bad")}" id="audit">{(audit.Balanced ? "balanced" : "NOT balanced")}</div><div class="muted">checked {E(audit.CheckedAt)}</div></div>
              <div class="card"><div class="muted">Transfers</div><div class="value">{E(audit.TransferCount)}</div><div class="muted">{E(audit.TotalMoved)} moved</div></div>
              <div class="card"><div class="muted">Frozen wallets</div><div class="value {(audit.FrozenWallets > 0 ? "warn" : "ok")}">{E(audit.FrozenWallets)}</div></div>
            </div>
            {(audit.Problems.Count == 0 ? "" : $"<div class=\"error\"><ul>{string.Concat(audit.Problems.Select(p => $"<li>{E(p)}</li>"))}</ul></div>")}
            <form class="filters" method="get" action="/dashboard/ledger"><label>Search accounts, agents, publishers<input name="q" value="{E(search)}"></label><button type="submit">Search</button></form>
            <h2>Accounts (largest balances first)</h2>
            {Table(["account", "kind", "balance", "check"], accounts)}
            <h2>Agents</h2>
            {Table(["id", "email", "name", "crawler type", "wallet", "since"], agents)}
            <h2>Publishers</h2>
            {Table(["id", "email", "domain", "name", "since"], publishers)}
            <h2>Recent transfers</h2>
            {Table(["id", "at", "kind", "debit", "credit", "amount", "key"], transfers)}
            """;
        return Page("Ledger", "Ledger", Csrf(context), body);
    }
}
