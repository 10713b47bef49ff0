using System.Security.Cryptography;
using Aisa.Settlement.Api.Auth;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Idempotency;
using Aisa.Settlement.Storage.Publishers;
using Aisa.Settlement.Storage.Webhooks;

namespace Aisa.Settlement.Api.Notifications;

public sealed record WebhookRequest(string? Url);

public sealed record DeliveryView(long Id, string Event, string Type, string State, int Attempts, int? LastStatus, string? LastError, DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt, DateTimeOffset? DeliveredAt)
{
    public static DeliveryView Of(WebhookDelivery d) => new(d.Id, d.EventKey, d.EventType, d.State, d.Attempts, d.LastStatus, d.LastError, d.CreatedAt,
        d.State == WebhookStore.Pending ? d.NextAttemptAt : null, d.DeliveredAt);
}

public sealed record WebhookResponse(string Url, DateTimeOffset CreatedAt)
{
    public bool Success => true;
}

/// <param name="Secret">The signing secret, shown this once.</param>
/// <param name="Signature">How each delivery is signed, and how to check it.</param>
public sealed record WebhookSetResponse(string Url, string Secret, string Signature)
{
    public bool Success => true;
}

public sealed record DeliveriesResponse(IReadOnlyList<DeliveryView> Deliveries)
{
    public bool Success => true;
}

public sealed record DeliveryResponse(DeliveryView Delivery)
{
    public bool Success => true;
}

/// <summary>
/// Webhooks for agents (<c>/api/agent/webhook</c>, session), publishers (<c>/api/publisher/webhook</c>, session) and the
/// operators (<c>/api/operator/webhook</c>, operator key: money that named nobody): set with <c>PUT {url}</c> (its signing
/// secret shown once, in that answer), the log of what was delivered, and a redelivery of any of it.
/// </summary>
public static class WebhookApi
{
    private const int LogSize = 100;

    public static IEndpointRouteBuilder MapWebhookApi(this IEndpointRouteBuilder endpoints)
    {
        MapOwnerWebhook(endpoints.MapGroup("/api/agent").WithTags("Agent").RequireAgentSession(), "/api/agent",
            context => Notifier.AgentOwner(context.SessionAgent().Id));
        MapOwnerWebhook(endpoints.MapGroup("/api/publisher").WithTags("Publisher").RequirePublisherSession(), "/api/publisher",
            context => Notifier.PublisherOwner(context.SessionPublisher().Id));
        var operators = endpoints.MapGroup("/api/operator").WithTags("Operator").AddEndpointFilter(Operator.OperatorApi.RequireOperatorKeyAsync).CalledWith(Http.ApiDocument.OperatorKey);
        MapOwnerWebhook(operators, "/api/operator", _ => Notifier.OperatorOwner);
        operators.MapGet("/crawlers/{crawlerId}/webhook/deliveries", async (string crawlerId, AgentStore agents, WebhookStore store, CancellationToken cancellationToken) =>
            await Guard.GuardApi.FindAsync(crawlerId, agents, cancellationToken) is { } found
                ? (await LogAsync(Notifier.AgentOwner(found.Id), store, cancellationToken)).ToResult()
                : Guard.GuardApi.CrawlerNotFound()).WithSummary("A crawler's webhook deliveries, newest first.").Answers<DeliveriesResponse>(200).Refuses(401, 404);
        operators.MapGet("/publishers/{publisherId}/webhook/deliveries", async (string publisherId, PublisherStore publishers, WebhookStore store, CancellationToken cancellationToken) =>
            long.TryParse(publisherId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                && await publishers.FindByIdAsync(id, cancellationToken) is { } found
                ? (await LogAsync(Notifier.PublisherOwner(found.Id), store, cancellationToken)).ToResult()
                : ApiResponses.Error(404, "publisher_not_found", "No publisher has this id.").ToResult()).WithSummary("A publisher's webhook deliveries, newest first.")
            .Answers<DeliveriesResponse>(200).Refuses(401, 404);
        return endpoints;
    }

    private static void MapOwnerWebhook(RouteGroupBuilder group, string prefix, Func<HttpContext, string> ownerOf)
    {
        group.MapPut("/webhook", async (HttpContext context, WebhookStore store, NotificationOptions options, CancellationToken cancellationToken) =>
            {
                var body = await ApiJson.ReadAsync<WebhookRequest>(context.Request, cancellationToken);
                return (body.Value is not { } input
                    ? ApiResponses.Error(400, "invalid_request", body.Problem!)
                    : await SetAsync(ownerOf(context), input, store, options, cancellationToken)).ToResult();
            })
            .WithSummary("Sets the URL events are POSTed to; the answer holds the signing secret, shown this once.")
            .Takes<WebhookRequest>().Answers<WebhookSetResponse>(200).Refuses(400, 401, 403);
        group.MapGet("/webhook", async (HttpContext context, WebhookStore store, CancellationToken cancellationToken) =>
            (await EndpointAsync(ownerOf(context), prefix, store, cancellationToken)).ToResult())
            .WithSummary("The URL events are POSTed to (never the secret).").Answers<WebhookResponse>(200).Refuses(401, 403, 404);
        group.MapDelete("/webhook", async (HttpContext context, WebhookStore store, CancellationToken cancellationToken) =>
            await store.RemoveEndpointAsync(ownerOf(context), cancellationToken) ? Results.NoContent() : NoWebhook(prefix).ToResult())
            .WithSummary("Removes the webhook; deliveries still owed fail.").Produces(204).Refuses(401, 403, 404);
        group.MapGet("/webhook/deliveries", async (HttpContext context, WebhookStore store, CancellationToken cancellationToken) =>
            (await LogAsync(ownerOf(context), store, cancellationToken)).ToResult()).WithSummary("The newest deliveries, with every attempt's outcome.")
            .Answers<DeliveriesResponse>(200).Refuses(401, 403);
        group.MapPost("/webhook/deliveries/{deliveryId:long}/redeliver", async (long deliveryId, HttpContext context, WebhookStore store, Notifier notifier,
                CancellationToken cancellationToken) => (await RedeliverAsync(ownerOf(context), deliveryId, prefix, store, notifier, cancellationToken)).ToResult())
            .WithSummary("Sends a delivered or failed event again, as a new delivery of the same body (202; tried at once, retried as any); 429 while 10 or more are still being tried.")
            .Answers<DeliveryResponse>(202).Refuses(401, 403, 404, 409, 429);
    }

    /// <summary>The owner's webhook URL, as the API and the web apps' webhook pages answer it.</summary>
    internal static async Task<StoredResponse> EndpointAsync(string owner, string prefix, WebhookStore store, CancellationToken cancellationToken) =>
        await store.EndpointAsync(owner, cancellationToken) is { } endpoint
            ? ApiResponses.Json(200, new WebhookResponse(endpoint.Url, endpoint.CreatedAt))
            : NoWebhook(prefix);

    /// <summary>A redelivery of one of the owner's deliveries, as the API and the web apps' webhook pages ask for it.</summary>
    internal static async Task<StoredResponse> RedeliverAsync(string owner, long deliveryId, string prefix, WebhookStore store, Notifier notifier, CancellationToken cancellationToken)
    {
        // Another owner's delivery is as unknown as a missing one: its existence is not told.
        if (await store.FindAsync(deliveryId, cancellationToken) is not { } original || original.Owner != owner)
        {
            return ApiResponses.Error(404, "delivery_not_found", "No delivery of yours has this id.");
        }
        return (await notifier.RedeliverAsync(original, cancellationToken)) switch
        {
            { Copy: { } copy } => ApiResponses.Json(202, new DeliveryResponse(DeliveryView.Of(copy))),
            { Refusal: RedeliveryRefusal.TooManyPending } => ApiResponses.Error(429, "too_many_pending",
                $"{Notifier.MaxPending} or more deliveries are still being tried: redeliver once they have ended."),
            _ => ApiResponses.Error(409, "no_webhook", $"No webhook is set to deliver to: PUT {prefix}/webhook {{url}} first."),
        };
    }

    private static StoredResponse NoWebhook(string prefix) => ApiResponses.Error(404, "no_webhook", $"No webhook is set: PUT {prefix}/webhook {{url}}.");

    internal static async Task<StoredResponse> LogAsync(string owner, WebhookStore store, CancellationToken cancellationToken) =>
        ApiResponses.Json(200, new DeliveriesResponse([.. (await store.ListAsync(owner, LogSize, cancellationToken)).Select(DeliveryView.Of)]));

    /// <summary>Sets the owner's webhook URL with a new secret (shown in this answer only), as the API and the web apps do it.</summary>
    internal static async Task<StoredResponse> SetAsync(string owner, WebhookRequest input, WebhookStore store, NotificationOptions options, CancellationToken cancellationToken)
    {
        if (UrlProblem(input.Url, options) is { } problem)
        {
            return ApiResponses.Error(400, "invalid_url", problem);
        }
        var secret = "aisa_whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        await store.SetEndpointAsync(owner, input.Url!, secret, cancellationToken);
        return ApiResponses.Json(200, new WebhookSetResponse(input.Url!, secret,
            $"{WebhookSender.SignatureHeader}: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + \".\" + body)>; refuse a t more than 300 s old"));
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
