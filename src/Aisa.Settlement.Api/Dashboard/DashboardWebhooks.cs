using Aisa.Settlement.Api.Notifications;
using Aisa.Settlement.Storage.Webhooks;
using Microsoft.AspNetCore.Antiforgery;
using static Aisa.Settlement.Api.Dashboard.Html;

namespace Aisa.Settlement.Api.Dashboard;

/// <summary>
/// <c>/dashboard/webhooks</c>: the newest webhook deliveries of every owner (or one: <c>?owner=agent:7</c>,
/// <c>publisher:3</c>, <c>operator</c>) with each attempt's outcome; any of them can be sent again.
/// </summary>
public static class DashboardWebhooks
{
    private const int PageSize = 200;

    public static RouteGroupBuilder MapDashboardWebhooks(this RouteGroupBuilder pages)
    {
        pages.MapGet("/webhooks", WebhooksAsync);
        pages.MapPost("/webhooks/deliveries/{id:long}/redeliver", RedeliverAsync);
        return pages;
    }

    private static async Task<IResult> WebhooksAsync(HttpContext context, WebhookStore store, CancellationToken cancellationToken)
    {
        var owner = context.Request.Query["owner"].ToString().Trim();
        var deliveries = await store.ListAsync(owner.Length == 0 ? null : owner, PageSize, cancellationToken);
        var done = context.Request.Query["done"].ToString();
        var body = $"""
            {(done.Length > 0 ? $"<div class=\"ok\" id=\"done\">{E(done)}</div>" : "")}
            <form method="get" action="/dashboard/webhooks"><label>Owner <input name="owner" value="{E(owner)}" size="24" placeholder="agent:7, publisher:3, operator"></label> <button type="submit">Filter</button></form>
            <p class="muted">Agents, publishers and operators set their webhooks with <code>PUT /api/{"{agent|publisher|operator}"}/webhook</code>. Deliveries are Hangfire jobs
            (<a href="/dashboard/jobs">Jobs</a>); a failed one is retried with back-off. Redeliver sends the same body again as a new delivery.</p>
            {DeliveryTable(deliveries, Csrf(context), showOwner: true, "Nothing was delivered.")}
            """;
        return Page("Webhooks", "Webhooks", Csrf(context), body);
    }

    /// <summary>The delivery log as a table, each row with its Redeliver button (also on a crawler's page).</summary>
    public static string DeliveryTable(IReadOnlyList<WebhookDelivery> deliveries, string csrf, bool showOwner, string empty)
    {
        if (deliveries.Count == 0)
        {
            return $"<p class=\"muted\">{E(empty)}</p>";
        }
        var rows = deliveries.Select(d =>
            $"<tr data-delivery=\"{E(d.Id)}\"><td class=\"num\">{E(d.Id)}</td>{(showOwner ? $"<td><a href=\"/dashboard/webhooks?owner={Uri.EscapeDataString(d.Owner)}\">{E(d.Owner)}</a></td>" : "")}" +
            $"<td>{E(d.EventType)}</td><td class=\"mono\">{E(d.EventKey)}</td>" +
            $"<td class=\"{(d.State == WebhookStore.Delivered ? "ok" : d.State == WebhookStore.Failed ? "bad" : "")} state\">{E(d.State)}</td>" +
            $"<td class=\"num\">{E(d.Attempts)}</td><td class=\"num\">{E(d.LastStatus)}</td><td>{E(d.LastError)}</td><td>{E(Time(d.CreatedAt))}</td>" +
            $"<td><form class=\"inline\" method=\"post\" action=\"/dashboard/webhooks/deliveries/{d.Id}/redeliver\">{CsrfField(csrf)}<button type=\"submit\" name=\"redeliver\">Redeliver</button></form></td></tr>");
        string[] headers = showOwner
            ? ["id", "owner", "type", "event", "state", "attempts", "status", "last error", "created", ""]
            : ["id", "type", "event", "state", "attempts", "status", "last error", "created", ""];
        return Table(headers, rows, "id=\"deliveries\"");
    }

    private static async Task<IResult> RedeliverAsync(long id, HttpContext context, IAntiforgery antiforgery, WebhookStore store, Notifier notifier,
        ILogger<DashboardLogin> logger, CancellationToken cancellationToken)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return DashboardAuth.CsrfRefused();
        }
        if (await store.FindAsync(id, cancellationToken) is not { } original)
        {
            return Page("Delivery not found", "Webhooks", Csrf(context), $"<p>No webhook delivery has the id {E(id)}.</p>", 404);
        }
        var redelivery = await notifier.RedeliverAsync(original, cancellationToken);
        if (redelivery.Copy is not { } copy)
        {
            var why = redelivery.Refusal == RedeliveryRefusal.TooManyPending
                ? $"{Notifier.MaxPending} or more deliveries of {original.Owner} are still being tried: redeliver once they have ended."
                : $"{original.Owner} has no webhook now: delivery #{id} cannot be sent again.";
            return Page("Nothing done", "Webhooks", Csrf(context), $"<div class=\"error\">{E(why)} Nothing was done.</div>",
                redelivery.Refusal == RedeliveryRefusal.TooManyPending ? 429 : 409);
        }
        logger.LogInformation("Dashboard: webhook delivery {Delivery} of {Owner} sent again as {Copy}.", id, original.Owner, copy.Id);
        return Results.Redirect($"/dashboard/webhooks?owner={Uri.EscapeDataString(original.Owner)}&done={Uri.EscapeDataString($"Delivery #{id} sent again as #{copy.Id}.")}");
    }
}
