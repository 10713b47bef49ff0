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
using static Aisa.Settlement.Api.Dashboard.Html;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Api.Deposits;
using Aisa.Settlement.Api.Jobs;

namespace Aisa.Settlement.Api.Dashboard;

/// <summary>
/// <c>/dashboard</c>: overview, deposits (live confirmation bars) and the ledger, server-rendered, with Hangfire's dashboard
/// and its Confirmations page at <c>/dashboard/jobs</c> (<see cref="JobsDashboard"/>); <c>/dashboard/api/*</c> is the JSON
/// the live parts follow.
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
        pages.MapGet("/ledger", LedgerAsync);
        pages.MapDashboardPayouts();
        pages.MapDashboardCrawlers();
        pages.MapDashboardWebhooks();

        var api = endpoints.MapGroup("/dashboard/api").RequireAuthorization(DashboardAuth.Policy).WithTags("Dashboard").CalledWith(ApiDocument.OperatorConsole);
        api.MapGet("/overview", OverviewJsonAsync).WithSummary("Deposits by rail and state, credited today, charges per minute over the last hour, job health.")
            .Answers<OverviewView>(200);
        api.MapGet("/deposits", DepositsJsonAsync).WithSummary("Deposits newest first (rail= and state= filter), with confirmations k/N and evidence.")
            .Answers<ConsoleDepositsView>(200).Refuses(400);
        api.MapGet("/confirmations", ConfirmationsJsonAsync)
            .WithSummary("Each recurring job with its last pass, lag and controls, and every open deposit of every rail (and those that moved in the last 10 minutes) with its k/N or finality.")
            .Answers<ConfirmationsView>(200);
        endpoints.MapJobsDashboard();
        return endpoints;
    }

    // ---------------------------------------------------------------- overview

    /// <summary>What the overview page and its JSON both show, read once per request.</summary>
    private sealed record OverviewFacts(DateTimeOffset Now, IReadOnlyList<DepositTally> Tallies, long CreditedCount, Micros CreditedAmount,
        IReadOnlyDictionary<string, JobState> Jobs);

    private static async Task<OverviewFacts> OverviewFactsAsync(OperationsStore operations, JobStore jobs, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (creditedCount, creditedAmount) = await operations.CreditedSinceAsync(new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero), cancellationToken);
        return new OverviewFacts(now, await operations.DepositTalliesAsync(cancellationToken), creditedCount, creditedAmount,
            (await jobs.StatesAsync(now.AddDays(-1), cancellationToken)).ToDictionary(s => s.Job));
    }

    private static async Task<IResult> OverviewJsonAsync(OperationsStore operations, JobStore jobs, RecurringJobs scheduled, ChargeMinutes minutes, TimeProvider clock,
        Storage.Payouts.PayoutStore payouts, CancellationToken cancellationToken)
    {
        // This instance's charges up to now; the other instances' arrive within their next flush (5 s).
        await minutes.FlushAsync(cancellationToken);
        var facts = await OverviewFactsAsync(operations, jobs, clock, cancellationToken);
        var open = await payouts.OpenTotalsAsync(cancellationToken);
        return Results.Json(new OverviewView(
            [.. facts.Tallies.Select(t => new DepositTallyView(t.Rail, t.State, t.Count, t.Amount))],
            new CountAndAmount(facts.CreditedCount, facts.CreditedAmount),
            new OpenPayoutsView(open.Count, open.Amount, open.AwaitingApproval),
            [.. (await operations.ChargesPerMinuteAsync(facts.Now.AddHours(-1), cancellationToken)).Select(m => new ChargeMinuteView(m.Minute, m.Charges, m.Amount))],
            [.. scheduled.Jobs.Select(job =>
            {
                var h = facts.Jobs.GetValueOrDefault(job.Name);
                var lastSuccess = h?.LastSuccessAt;
                return new JobHealthView(job.Name, lastSuccess, lastSuccess is { } at ? Math.Round((facts.Now - at).TotalSeconds, 1) : null,
                    JobSummaries.Head(h?.LastSummary), h?.LastOutcome is { } outcome ? JobStore.Wire(outcome) : null, h?.FailuresSince ?? 0);
            })]), ApiJson.Options);
    }

    private static async Task<IResult> OverviewAsync(HttpContext context, OperationsStore operations, JobStore jobs, RecurringJobs scheduled, Storage.IDatabase database,
        TimeProvider clock, Storage.Payouts.PayoutStore payouts, CancellationToken cancellationToken)
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
        var (now, tallies, creditedCount, creditedAmount, jobStates) = await OverviewFactsAsync(operations, jobs, clock, cancellationToken);
        var failures = jobStates.Values.Sum(h => h.FailuresSince);
        var openPayouts = await payouts.OpenTotalsAsync(cancellationToken);
        var states = Enum.GetValues<DepositState>().Select(s => s.ToWire()).ToList();
        var rails = tallies.Select(t => t.Rail).Distinct().ToList();
        var depositRows = rails.Select(rail =>
            $"<tr><td>{E(rail)}</td>{string.Concat(states.Select(state => $"<td class=\"num\">{E(tallies.FirstOrDefault(t => t.Rail == rail && t.State == state)?.Count ?? 0)}</td>"))}</tr>");
        var watcherRows = scheduled.Jobs.Select(job =>
        {
            var h = jobStates.GetValueOrDefault(job.Name);
            var lastSuccess = h?.LastSuccessAt;
            var css = lastSuccess is not { } at ? "warn" : job.Current(at, now) ? "ok" : "bad";
            return $"<tr><td>{E(job.Name)}</td><td class=\"{css}\">{E(Ago(lastSuccess, now))}</td><td class=\"num\">{E(JobSummaries.Head(h?.LastSummary))}</td>" +
                $"<td>{E(h?.LastOutcome is { } outcome ? JobStore.Wire(outcome) : "no run yet")}{(h?.Paused == true ? " <span class=\"warn\">paused</span>" : "")}</td><td class=\"num\">{E(h?.FailuresSince ?? 0)}</td></tr>";
        });
        var body = $"""
            <div class="cards">
              <div class="card"><div class="muted">Credited today</div><div class="value">{E(creditedAmount)}</div><div>{E(creditedCount)} deposits</div></div>
              <div class="card" id="open-payouts"><div class="muted">Open payouts</div><div class="value">{E(openPayouts.Count)}</div><div>{E(openPayouts.Amount)} in flight</div><div class="{(openPayouts.AwaitingApproval > 0 ? "warn" : "muted")}"><a href="/dashboard/payouts?state=awaiting_approval">{E(openPayouts.AwaitingApproval)} awaiting approval</a></div></div>
              <div class="card"><div class="muted">Failed job runs (24 h)</div><div class="value {(failures > 0 ? "bad" : "ok")}" id="failed-runs">{E(failures)}</div></div>
              <div class="card"><div class="muted">Charges (last hour)</div><div class="value" id="charges-last-hour">…</div></div>
              {storage}
            </div>
            <h2>Charges per minute (last hour)</h2>
            <svg class="chart" data-live="charges" data-source="/dashboard/api/overview" width="600" height="120" viewBox="0 0 600 120" role="img" aria-label="Charges per minute"></svg>
            <h2>Deposits by state</h2>
            {(rails.Count == 0 ? "<p class=\"muted\">No deposits yet.</p>" : Table(["rail", .. states], depositRows))}
            <h2>Watchers and jobs</h2>
            <p class="muted">Every run, its error and the instances running them: <a href="/dashboard/jobs">Jobs</a> (Hangfire). Open deposits and each watcher's last pass, pause and resume: <a href="/dashboard/jobs/confirmations">Confirmations</a>.</p>
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

    /// <param name="latestEvidence">What was last learned about it (its latest transition's evidence), where the page shows it.</param>
    private static ConsoleDepositView DepositJson(Deposit d, IRailRegistry rails, string? latestEvidence = null) =>
        new(d.Id, d.Rail, d.State.ToWire(), d.Confirmations, d.ConfirmationsRequired, (d.Amount ?? d.RequestedAmount)?.ToBalanceString(), d.AgentId, Evidence(d),
            Time(d.UpdatedAt), FinalityOf(d.Rail, rails), latestEvidence is null ? null : System.Text.Json.Nodes.JsonNode.Parse(latestEvidence));

    /// <summary>How the rail's payments become final, for the bar: <c>depth</c> (k/N), <c>at finalized</c> (a commitment), or <c>when settled</c>.</summary>
    internal static string FinalityOf(string rail, IRailRegistry rails) =>
        (RailId.TryParse(rail, out var id) ? rails.Find(id)?.Finality : null) switch
        {
            { Kind: FinalityKind.Commitment, Commitment: var level } => $"at {level}",
            { Kind: FinalityKind.Immediate } => "when settled",
            _ => "depth",
        };

    private static string Evidence(Deposit d) => string.Join(" ", new[]
    {
        d.TransactionHash is { } tx ? $"tx {tx}" + (d.LogIndex is { } log ? $":{log}" : "") : null,
        d.BlockNumber is { } block ? $"block {block}" : null,
        d.TransactionHash is null && d.ExternalId is { } id ? $"ref {id}" : null,
        // Where a request's rail keeps it (a BTCPay invoice) when that is not the reference itself.
        d.TransactionHash is null && d.Address is { } at && at != d.ExternalId ? $"at {at}" : null,
    }.Where(s => s is not null));

    private static async Task<IResult> DepositsJsonAsync(HttpRequest request, DepositStore deposits, IRailRegistry rails, CancellationToken cancellationToken)
    {
        var (rail, state, problem) = DepositFilterOf(request);
        if (problem is not null)
        {
            return ApiResponses.Error(400, "invalid_request", problem).ToResult();
        }
        var list = await deposits.ListAsync(new DepositFilter(rail, state, null, null, PageSize), cancellationToken);
        return Results.Json(new ConsoleDepositsView([.. list.Select(d => DepositJson(d, rails))]), ApiJson.Options);
    }

    /// <summary>What the Confirmations page follows: each recurring job where it stands, and the deposits still open or just settled.</summary>
    private static async Task<IResult> ConfirmationsJsonAsync(DepositStore deposits, JobStore jobs, RecurringJobs scheduled, IRailRegistry rails, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var states = (await jobs.StatesAsync(now.AddDays(-1), cancellationToken)).ToDictionary(s => s.Job);
        var leases = (await jobs.LeasesAsync(cancellationToken)).ToDictionary(l => l.Job);
        var open = await deposits.OpenOrMovedSinceAsync(now - TimeSpan.FromMinutes(10), PageSize, cancellationToken);
        var latest = await deposits.LatestEvidenceAsync(open.Select(d => d.Id).ToList(), cancellationToken);
        return Results.Json(new ConfirmationsView(
            [.. scheduled.Jobs.Select(job =>
            {
                var state = states.GetValueOrDefault(job.Name);
                var lease = leases.GetValueOrDefault(job.Name);
                return new WatcherView(job.Name, job.Watcher?.Value, job.Purpose, job.Cron, job.Interval.TotalSeconds, state?.Paused ?? false, state?.RunRequested ?? false,
                    state?.LastStartedAt, state?.LastEndedAt, state?.LastOutcome is { } outcome ? JobStore.Wire(outcome) : null, state?.LastError, state?.LastInstance,
                    state?.FailuresInARow ?? 0, state?.FailuresSince ?? 0, state?.LastSuccessAt,
                    state?.LastSuccessAt is { } at ? Math.Round((now - at).TotalSeconds, 1) : null,
                    state?.LastSuccessAt is { } success && job.Current(success, now), JobSummaries.Head(state?.LastSummary),
                    state?.LastSummary is { } summary ? System.Text.Json.Nodes.JsonNode.Parse(summary) : null,
                    lease is not null && lease.ExpiresAt > now ? lease.Owner : null);
            })],
            [.. open.Select(d => DepositJson(d, rails, latest.GetValueOrDefault(d.Id)))]), ApiJson.Options);
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
