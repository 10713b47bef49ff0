using System.Globalization;
using Aisa.Settlement.Api.Guard;
using Aisa.Settlement.Guard;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Guard;
using Aisa.Settlement.Storage.Webhooks;
using Microsoft.AspNetCore.Antiforgery;
using static Aisa.Settlement.Api.Dashboard.Html;

namespace Aisa.Settlement.Api.Dashboard;

/// <summary><c>/dashboard/crawlers</c>: find a crawler by id or email; its page shows its balance, its spending policy (editable), what it spent and its approvals.</summary>
public static class DashboardCrawlers
{

    public static RouteGroupBuilder MapDashboardCrawlers(this RouteGroupBuilder pages)
    {
        pages.MapGet("/crawlers", FindAsync);
        pages.MapGet("/crawlers/{id:long}", CrawlerAsync);
        pages.MapPost("/crawlers/{id:long}/guard", SaveGuardAsync);
        return pages;
    }

    private static async Task<IResult> FindAsync(HttpContext context, AgentStore agents, CancellationToken cancellationToken)
    {
        var find = context.Request.Query["find"].ToString().Trim();
        var form = $"""
            <form method="get" action="/dashboard/crawlers"><label>Crawler id or email <input name="find" value="{E(find)}" size="40"></label> <button type="submit">Open</button></form>
            """;
        if (find.Length == 0)
        {
            return Page("Crawlers", "Crawlers", Csrf(context), form);
        }
        var agent = long.TryParse(find, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? await agents.FindByIdAsync(id, cancellationToken)
            : await agents.FindByEmailAsync(find.ToLowerInvariant(), cancellationToken);
        return agent is null
            ? Page("Crawlers", "Crawlers", Csrf(context), $"{form}<div class=\"error\">No crawler has the id or email {E(find)}.</div>", 404)
            : Results.Redirect($"/dashboard/crawlers/{agent.Id}");
    }

    private static async Task<IResult> CrawlerAsync(long id, HttpContext context, AgentStore agents, ApprovalStore approvals, ILedger ledger, WebhookStore webhooks,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        if (await agents.FindByIdAsync(id, cancellationToken) is not { } agent)
        {
            return Page("Crawler not found", "Crawlers", Csrf(context), $"<p>No crawler has the id {E(id)}.</p>", 404);
        }
        var deliveries = await webhooks.ListAsync(Notifications.Notifier.AgentOwner(agent.Id), 100, cancellationToken);
        var log = $"""
            <h2>Webhook deliveries</h2>
            {DashboardWebhooks.DeliveryTable(deliveries, Csrf(context), showOwner: false, "Nothing delivered (the crawler's owner sets its webhook with PUT /api/agent/webhook).")}
            """;
        return Page($"Crawler #{agent.Id}", "Crawlers", Csrf(context),
            await BodyAsync(agent, agent.Guard, context.Request.Query["done"].ToString(), null, Csrf(context), approvals, ledger, clock, cancellationToken) + log);
    }

    private static async Task<string> BodyAsync(Agent agent, GuardPolicy shown, string done, string? problem, string csrf, ApprovalStore approvals, ILedger ledger,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var balance = await ledger.GetBalanceAsync(agent.Wallet, cancellationToken);
        var view = await GuardApi.GuardViewAsync(agent.Wallet, agent.Guard, ledger, clock, cancellationToken);
        var spending = view.Spending.Select(pair =>
            $"<tr><td>{E(pair.Key)}</td><td class=\"num\">{E(pair.Value.Spent)}</td><td class=\"num\">{E(pair.Value.Limit?.ToAmountString() ?? "none")}</td>" +
            $"<td class=\"num\">{E(pair.Value.Remaining?.ToAmountString() ?? "")}</td><td>{E(Time(pair.Value.RenewsAt))}</td></tr>");
        var list = await approvals.ListAsync(agent.Id, null, 100, cancellationToken);
        var approvalRows = list.Select(a =>
            $"<tr><td class=\"mono\">{E(a.Id)}</td><td>{E(a.PublisherDomain)}</td><td class=\"mono\">{E(a.Resource)}</td><td class=\"num\">{E(a.Price)}</td>" +
            $"<td class=\"state\">{E(a.State.ToString().ToLowerInvariant())}</td><td>{E(Time(a.CreatedAt))}</td></tr>");
        string Amount(string name, Micros? value) =>
            $"<label>{E(name)} <input name=\"{name}\" value=\"{E(value?.ToAmountString() ?? "")}\" inputmode=\"decimal\" size=\"10\"></label>";
        string Domains(string name, IReadOnlyList<string>? domains) =>
            $"<label>{E(name)}<br><textarea name=\"{name}\" rows=\"3\" cols=\"40\">{E(string.Join('\n', domains ?? []))}</textarea></label>";
        return $"""
            {(done.Length > 0 ? $"<div class=\"ok\" id=\"done\">{E(done)}</div>" : "")}
            {(problem is not null ? $"<div class=\"error\" id=\"problem\">{E(problem)}</div>" : "")}
            <p>{E(agent.Email)} · {E(agent.CrawlerType ?? "no crawler type")} · balance <span class="num" id="balance">{E(balance)}</span> USD{(agent.Disabled ? " · <strong>disabled</strong>" : "")}</p>
            <h2>Spending policy</h2>
            <p class="muted">Empty is no limit. Amounts in USD; domains one per line (a domain covers its subdomains; the deny-list wins). Saving replaces the whole policy.</p>
            <form method="post" action="/dashboard/crawlers/{agent.Id}/guard" id="guard">{CsrfField(csrf)}
            <p>{Amount("maxPricePerRequest", shown.MaxPricePerRequest)} {Amount("dailyBudget", shown.DailyBudget)} {Amount("monthlyBudget", shown.MonthlyBudget)} {Amount("approvalAbove", shown.ApprovalAbove)}
            <label>requestsPerMinute <input name="requestsPerMinute" value="{E(shown.RequestsPerMinute)}" inputmode="numeric" size="8"></label>
            <label><input type="checkbox" name="requireSignedRequests" value="true"{(shown.RequireSignedRequests ? " checked" : "")}> requireSignedRequests</label></p>
            <p>{Domains("publisherAllowlist", shown.PublisherAllowlist)} {Domains("publisherDenylist", shown.PublisherDenylist)}</p>
            <button type="submit">Save policy</button></form>
            <h2>Spent</h2>
            {Table(["period", "spent", "budget", "remaining", "renews"], spending, "id=\"spending\"")}
            <h2>Approvals</h2>
            {(list.Count == 0 ? "<p class=\"muted\">No charge has waited for approval.</p>" : Table(["id", "publisher", "resource", "price", "state", "asked"], approvalRows, "id=\"approvals\""))}
            """;
    }

    private static async Task<IResult> SaveGuardAsync(long id, HttpContext context, IAntiforgery antiforgery, AgentStore agents, ApprovalStore approvals, ILedger ledger,
        TimeProvider clock, ILogger<DashboardLogin> logger, CancellationToken cancellationToken)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return DashboardAuth.CsrfRefused();
        }
        if (await agents.FindByIdAsync(id, cancellationToken) is not { } agent)
        {
            return Page("Crawler not found", "Crawlers", Csrf(context), $"<p>No crawler has the id {E(id)}.</p>", 404);
        }
        var form = await context.Request.ReadFormAsync(cancellationToken);
        var (policy, problem) = GuardForm.Read(form);
        if (policy is { } read)
        {
            (policy, problem) = GuardApi.Validate(read);
        }
        if (policy is null)
        {
            return Page($"Crawler #{agent.Id}", "Crawlers", Csrf(context),
                await BodyAsync(agent, agent.Guard, "", $"{problem} Nothing was saved.", Csrf(context), approvals, ledger, clock, cancellationToken), 400);
        }
        await agents.SetGuardAsync(agent.Id, policy, cancellationToken);
        logger.LogInformation("Dashboard: the spending policy of crawler {Crawler} replaced.", agent.Id);
        return Results.Redirect($"/dashboard/crawlers/{agent.Id}?done={Uri.EscapeDataString("Policy saved.")}");
    }
}
