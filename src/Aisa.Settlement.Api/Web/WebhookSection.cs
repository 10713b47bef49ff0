using System.Text.Json;
using Aisa.Settlement.Api.Notifications;
using Aisa.Settlement.Storage.Webhooks;
using static Aisa.Settlement.Api.Dashboard.Html;
using static Aisa.Settlement.Api.Web.WebPage;

namespace Aisa.Settlement.Api.Web;

/// <summary>
/// The webhook page of the agent's wallet and the publisher's dashboard: the URL events are POSTed to (the signing secret
/// shown once, when it is set), the delivery log with each attempt's outcome, and a redelivery of any delivery — every action
/// through the API's own code for the owner, every form a POST with an antiforgery token.
/// </summary>
public static class WebhookSection
{
    /// <summary>The page's routes under <paramref name="pages"/> (<c>/webhook</c>, its forms); <paramref name="render"/> lays a body out in the app.</summary>
    /// <param name="owner">The webhook owner of the signed-in caller, and who it is to the layout; else what to answer (a POST's antiforgery token already checked).</param>
    public static void Map(RouteGroupBuilder pages, string home, string apiPrefix, Func<HttpContext, Task<(string? Owner, string? Who, IResult? Refusal)>> owner,
        Func<HttpContext, string, string, int, IResult> render)
    {
        var path = home + "webhook";
        pages.MapGet("/webhook", async (HttpContext context, WebhookStore store) =>
        {
            var (who, name, away) = await owner(context);
            var done = context.Request.Query["done"].ToString() switch
            {
                "removed" => "The webhook is removed: nothing more is sent.",
                "redelivered" => "Sent again, as a new delivery: it is tried at once.",
                _ => null,
            };
            return who is null ? away! : render(context, name!, await BodyAsync(context, who, path, apiPrefix, store, done, null, null), 200);
        });
        pages.MapPost("/webhook", async (HttpContext context, WebhookStore store, NotificationOptions options) =>
        {
            var (who, name, refusal) = await owner(context);
            if (who is null)
            {
                return refusal!;
            }
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            var answer = ApiAnswer.Of(await WebhookApi.SetAsync(who, new WebhookRequest(form["url"].ToString().Trim()), store, options, context.RequestAborted));
            // The secret exists in clear only in this answer: shown once, here, and never again.
            return render(context, name!, await BodyAsync(context, who, path, apiPrefix, store, null, answer.Error, answer.Ok ? answer : null), answer.Ok ? 200 : answer.Status);
        });
        pages.MapPost("/webhook/remove", async (HttpContext context, WebhookStore store) =>
        {
            var (who, name, refusal) = await owner(context);
            if (who is null)
            {
                return refusal!;
            }
            await store.RemoveEndpointAsync(who, context.RequestAborted);
            return Results.Redirect(path + "?done=removed");
        });
        pages.MapPost("/webhook/deliveries/{deliveryId:long}/redeliver", async (long deliveryId, HttpContext context, WebhookStore store, Notifier notifier) =>
        {
            var (who, name, refusal) = await owner(context);
            if (who is null)
            {
                return refusal!;
            }
            var answer = ApiAnswer.Of(await WebhookApi.RedeliverAsync(who, deliveryId, apiPrefix, store, notifier, context.RequestAborted));
            return answer.Ok
                ? Results.Redirect(path + "?done=redelivered")
                : render(context, name!, await BodyAsync(context, who, path, apiPrefix, store, null, answer.Error, null), answer.Status);
        });
    }

    private static async Task<string> BodyAsync(HttpContext context, string owner, string path, string apiPrefix, WebhookStore store, string? notice, string? error, ApiAnswer? set)
    {
        var cancellationToken = context.RequestAborted;
        var csrf = WebPage.Csrf(context);
        var endpoint = ApiAnswer.Of(await WebhookApi.EndpointAsync(owner, apiPrefix, store, cancellationToken));
        var deliveries = ApiAnswer.Of(await WebhookApi.LogAsync(owner, store, cancellationToken)).Body.GetProperty("deliveries");
        var rows = deliveries.EnumerateArray().Select(d =>
        {
            var id = d.GetProperty("id").GetInt64();
            var state = d.GetProperty("state").GetString();
            return $"<tr data-delivery=\"{E(id)}\"><td class=\"num\">{E(id)}</td><td>{E(d.GetProperty("type").GetString())}</td><td class=\"state\">{E(state)}</td>" +
                $"<td class=\"num\">{E(d.GetProperty("attempts").GetInt32())}</td><td>{E(Text(d, "lastStatus"))} {E(Text(d, "lastError"))}</td><td>{E(Text(d, "createdAt"))}</td>" +
                $"<td><form class=\"inline\" method=\"post\" action=\"{E(path)}/deliveries/{E(id)}/redeliver\">{CsrfField(csrf)}<button type=\"submit\">Redeliver</button></form></td></tr>";
        }).ToList();
        var secret = set is { } answer
            ? $"""
              <div class="notice">Deliveries to {E(answer.Text("url"))} are signed with this secret, shown <strong>this once</strong>:</div>
              <p><code id="webhook-secret" class="secret">{E(answer.Text("secret"))}</code></p>
              <p class="muted">{E(answer.Text("signature"))}</p>
              """
            : "";
        var current = endpoint.Ok
            ? $"""<p>Events are POSTed to <code id="webhook-url">{E(endpoint.Text("url"))}</code>.</p><form method="post" action="{E(path)}/remove">{CsrfField(csrf)}<button type="submit">Remove the webhook</button></form>"""
            : "<p id=\"webhook-url\" class=\"muted\">No webhook is set.</p>";
        return $"""
            {WebPage.Notice(notice)}{WebPage.Notice(error, "error")}{secret}
            {current}
            <h2>Set the URL</h2>
            <form method="post" action="{E(path)}" class="filters" id="webhook-form">{CsrfField(csrf)}
              <label>URL (https)<input name="url" id="webhook-url-input" size="60" required></label>
              <button class="primary" type="submit">Save; show a new secret</button>
            </form>
            <h2>Deliveries</h2>
            {(rows.Count == 0 ? "<p class=\"muted\">Nothing was delivered yet.</p>" : Table(["#", "Event", "State", "Attempts", "Last answer", "Created", ""], rows, "id=\"deliveries\""))}
            """;
    }
}
