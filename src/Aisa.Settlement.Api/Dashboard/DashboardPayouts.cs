using Aisa.Settlement.Api.Payouts;
using Aisa.Settlement.Payouts;
using Aisa.Settlement.Storage.Payouts;
using Microsoft.AspNetCore.Antiforgery;
using static Aisa.Settlement.Api.Dashboard.Html;

namespace Aisa.Settlement.Api.Dashboard;

/// <summary><c>/dashboard/payouts</c>: every payout newest first (state and rail filters) with its evidence; approve or cancel one waiting.</summary>
public static class DashboardPayouts
{
    private const int PageSize = 100;

    public static RouteGroupBuilder MapDashboardPayouts(this RouteGroupBuilder pages)
    {
        pages.MapGet("/payouts", PayoutsAsync);
        pages.MapPost("/payouts/{id:long}/approve", (long id, HttpContext context, IAntiforgery antiforgery, PayoutStore payouts, PayoutProcessor processor, ILogger<DashboardLogin> logger,
            CancellationToken cancellationToken) => DecideAsync(id, context, antiforgery, payouts, logger, "approved",
            (payout, token) => processor.ApproveAsync(payout, "dashboard", token), cancellationToken));
        pages.MapPost("/payouts/{id:long}/cancel", (long id, HttpContext context, IAntiforgery antiforgery, PayoutStore payouts, PayoutProcessor processor, ILogger<DashboardLogin> logger,
            CancellationToken cancellationToken) => DecideAsync(id, context, antiforgery, payouts, logger, "cancelled",
            (payout, token) => processor.CancelAsync(payout, "dashboard", token), cancellationToken));
        return pages;
    }

    private static async Task<IResult> PayoutsAsync(HttpContext context, PayoutStore payouts, TimeProvider clock, CancellationToken cancellationToken)
    {
        var csrf = Csrf(context);
        var rail = context.Request.Query["rail"].ToString();
        var stateText = context.Request.Query["state"].ToString();
        if (stateText.Length > 0 && !PayoutStates.TryParse(stateText, out _))
        {
            return Page("Payouts", "Payouts", csrf,
                $"<div class=\"error\">state is one of {E(string.Join(", ", Enum.GetValues<PayoutState>().Select(s => s.ToWire())))}.</div>", 400);
        }
        PayoutState? state = PayoutStates.TryParse(stateText, out var parsed) ? parsed : null;
        var list = await payouts.ListAsync(new PayoutFilter(null, rail.Length == 0 ? null : rail, state, null, PageSize), cancellationToken);
        var done = context.Request.Query["done"].ToString();
        var now = clock.GetUtcNow();
        var rows = list.Select(p =>
        {
            var actions = p.State switch
            {
                PayoutState.AwaitingApproval => Button(p.Id, "approve", "Approve", csrf) + Button(p.Id, "cancel", "Cancel", csrf),
                PayoutState.Requested when p.Prepared is null => Button(p.Id, "cancel", "Cancel", csrf),
                _ => "",
            };
            var css = p.State switch
            {
                PayoutState.Confirmed => "ok",
                PayoutState.Failed or PayoutState.Reversed => "bad",
                PayoutState.AwaitingApproval => "warn",
                _ => "",
            };
            return $"<tr data-payout=\"{E(p.Id)}\"><td class=\"num\">{E(p.Id)}</td><td class=\"num\">{E(p.PublisherId)}</td><td>{E(p.Rail)}</td><td class=\"num\">{E(p.Amount)}</td>" +
                $"<td class=\"{css} state\">{E(p.State.ToWire())}</td><td class=\"num\">{(p.ConfirmationsRequired > 0 ? E($"{p.Confirmations}/{p.ConfirmationsRequired}") : "")}</td>" +
                $"<td class=\"mono\">{E(p.Destination)}</td><td class=\"mono evidence\">{E(p.Reference)} {E(p.Evidence)}</td><td>{E(Ago(p.UpdatedAt, now))}</td><td>{actions}</td></tr>";
        });
        var filters = string.Join(" ", new[] { "" }.Concat(Enum.GetValues<PayoutState>().Select(s => s.ToWire()))
            .Select(s => $"<a href=\"/dashboard/payouts{(s.Length == 0 ? "" : "?state=" + s)}\"{(s == stateText ? " class=\"active\"" : "")}>{E(s.Length == 0 ? "all" : s)}</a>"));
        var body = $"""
            {(done.Length > 0 ? $"<div class=\"ok\" id=\"done\">{E(done)}</div>" : "")}
            <p class="filters">{filters}</p>
            <p class="muted">The payout run and each rail's sends are jobs: <a href="/dashboard/jobs/recurring">Jobs</a>. A payout above the approval threshold waits here; one not yet sent can be cancelled (its money goes back to the publisher's payable).</p>
            {(list.Count == 0 ? "<p class=\"muted\">No payouts.</p>" : Table(["id", "publisher", "rail", "amount", "state", "k/N", "destination", "evidence", "updated", ""], rows, "id=\"payouts\""))}
            """;
        return Page("Payouts", "Payouts", csrf, body);
    }

    private static string Button(long id, string action, string label, string csrf) =>
        $"<form class=\"inline\" method=\"post\" action=\"/dashboard/payouts/{id}/{action}\">{CsrfField(csrf)}<button type=\"submit\" name=\"{action}\">{E(label)}</button></form>";

    private static async Task<IResult> DecideAsync(long id, HttpContext context, IAntiforgery antiforgery, PayoutStore payouts, ILogger<DashboardLogin> logger, string done,
        Func<Payout, CancellationToken, Task<Payout?>> decide, CancellationToken cancellationToken)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return DashboardAuth.CsrfRefused();
        }
        if (await payouts.FindAsync(id, cancellationToken) is not { } payout)
        {
            return Page("Payout not found", "Payouts", Csrf(context), $"<p>No payout has the id {E(id)}.</p>", 404);
        }
        if (await decide(payout, cancellationToken) is null)
        {
            var now = await payouts.FindAsync(id, cancellationToken) ?? payout;
            return Page("Nothing done", "Payouts", Csrf(context),
                $"<div class=\"error\">Payout #{E(id)} is {E(now.State.ToWire())}{(now.Prepared is not null ? " and already sent" : "")}: only a payout awaiting approval can be approved, and only one not yet sent cancelled. Nothing was done.</div>", 409);
        }
        logger.LogInformation("Dashboard: payout {Payout} {Decision}.", id, done);
        return Results.Redirect($"/dashboard/payouts?done={Uri.EscapeDataString($"Payout #{id} {done}.")}");
    }
}
