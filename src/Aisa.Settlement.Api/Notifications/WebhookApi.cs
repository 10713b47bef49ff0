using System.Security.Cryptography;
using Aisa.Settlement.Api.Auth;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Webhooks;

namespace Aisa.Settlement.Api.Notifications;

public sealed record WebhookRequest(string? Url);

public sealed record DeliveryView(long Id, string Event, string Type, string State, int Attempts, int? LastStatus, string? LastError, DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt, DateTimeOffset? DeliveredAt)
{
    public static DeliveryView Of(WebhookDelivery d) => new(d.Id, d.EventKey, d.EventType, d.State, d.Attempts, d.LastStatus, d.LastError, d.CreatedAt,
        d.State == WebhookStore.Pending ? d.NextAttemptAt : null, d.DeliveredAt);
}

/// <summary>
/// An agent's webhook (<c>PUT /api/agent/webhook {url}</c>; its signing secret shown once, in that answer) and the log of
/// what was delivered to it, which its operator reads too.
/// </summary>
public static class WebhookApi
{
    private const int LogSize = 100;

    public static IEndpointRouteBuilder MapWebhookApi(this IEndpointRouteBuilder endpoints)
    {
        var agent = endpoints.MapGroup("/api/agent").WithTags("Agent").RequireAgentSession();
        agent.MapPut("/webhook", SetAsync).WithSummary("Sets the URL events are POSTed to; the answer holds the signing secret, shown this once.");
        agent.MapGet("/webhook", async (HttpContext context, WebhookStore store, CancellationToken cancellationToken) =>
            await store.EndpointAsync(Notifier.AgentOwner(context.SessionAgent().Id), cancellationToken) is { } endpoint
                ? ApiResponses.Json(200, new { success = true, url = endpoint.Url, createdAt = endpoint.CreatedAt }).ToResult()
                : ApiResponses.Error(404, "no_webhook", "No webhook is set: PUT /api/agent/webhook {url}.").ToResult());
        agent.MapDelete("/webhook", async (HttpContext context, WebhookStore store, CancellationToken cancellationToken) =>
            await store.RemoveEndpointAsync(Notifier.AgentOwner(context.SessionAgent().Id), cancellationToken)
                ? Results.NoContent()
                : ApiResponses.Error(404, "no_webhook", "No webhook is set.").ToResult());
        agent.MapGet("/webhook/deliveries", async (HttpContext context, WebhookStore store, CancellationToken cancellationToken) =>
            await LogAsync(context.SessionAgent().Id, store, cancellationToken)).WithSummary("The newest deliveries, with every attempt's outcome.");

        endpoints.MapGroup("/api/operator").WithTags("Operator").AddEndpointFilter(Operator.OperatorApi.RequireOperatorKeyAsync)
            .MapGet("/crawlers/{crawlerId}/webhook/deliveries", async (string crawlerId, AgentStore agents, WebhookStore store, CancellationToken cancellationToken) =>
                await Guard.GuardApi.FindAsync(crawlerId, agents, cancellationToken) is { } found
                    ? await LogAsync(found.Id, store, cancellationToken)
                    : Guard.GuardApi.CrawlerNotFound());
        return endpoints;
    }

    private static async Task<IResult> LogAsync(long agentId, WebhookStore store, CancellationToken cancellationToken) =>
        ApiResponses.Json(200, new { success = true, deliveries = (await store.ListAsync(Notifier.AgentOwner(agentId), LogSize, cancellationToken)).Select(DeliveryView.Of) }).ToResult();

    private static async Task<IResult> SetAsync(HttpContext context, WebhookStore store, NotificationOptions options, CancellationToken cancellationToken)
    {
        var body = await ApiJson.ReadAsync<WebhookRequest>(context.Request, cancellationToken);
        if (body.Value is not { } input)
        {
            return ApiResponses.Error(400, "invalid_request", body.Problem!).ToResult();
        }
        if (UrlProblem(input.Url, options) is { } problem)
        {
            return ApiResponses.Error(400, "invalid_url", problem).ToResult();
        }
        var secret = "aisa_whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        await store.SetEndpointAsync(Notifier.AgentOwner(context.SessionAgent().Id), input.Url!, secret, cancellationToken);
        return ApiResponses.Json(200, new
        {
            success = true,
            url = input.Url,
            secret,
            signature = $"{WebhookSender.SignatureHeader}: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + \".\" + body)>; refuse a t more than 300 s old",
        }).ToResult();
    }

    private static string? UrlProblem(string? url, NotificationOptions options)
    {
        if (string.IsNullOrWhiteSpace(url) || url.Length > 2000 || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return "url is an absolute https URL of at most 2000 characters.";
        }
        if (uri.Scheme != Uri.UriSchemeHttps && !(options.AllowPrivateNetworks && uri.Scheme == Uri.UriSchemeHttp))
        {
            return "url is https.";
        }
        if (uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            return "url holds no user name, password or fragment.";
        }
        return null;
    }
}
