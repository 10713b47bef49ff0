using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Storage.Webhooks;
using Hangfire;

namespace Aisa.Settlement.Api.Notifications;

public enum RedeliveryRefusal
{
    NoWebhook,
    TooManyPending,
}

/// <summary>A redelivery: the new delivery, or why none was made.</summary>
public sealed record Redelivery(WebhookDelivery? Copy, RedeliveryRefusal? Refusal);

/// <summary>
/// Events for an owner's webhook: each recorded once (per owner and event key, on any instance) and delivered by a
/// Hangfire background job, so a delivery survives a restart and operators see it in the jobs dashboard.
/// </summary>
public sealed class Notifier(WebhookStore store, IBackgroundJobClient jobs, TimeProvider clock, ILogger<Notifier> logger)
{
    /// <summary>Records and queues the event if the owner has a webhook; never fails its caller (a charge is not undone for a notice).</summary>
    public async Task NotifyAsync(string owner, string eventKey, string type, object data)
    {
        try
        {
            if (await store.EndpointAsync(owner, CancellationToken.None) is null)
            {
                return;
            }
            var payload = JsonSerializer.Serialize(new { type, @event = eventKey, createdAt = clock.GetUtcNow(), data }, ApiJson.Options);
            if (await store.AddAsync(owner, eventKey, type, payload, CancellationToken.None) is { } delivery)
            {
                jobs.Enqueue<WebhookSender>(sender => sender.DeliverAsync(delivery.Id, CancellationToken.None));
            }
        }
        catch (Exception e)
        {
            logger.LogError(e, "Event {Event} for {Owner} could not be recorded", eventKey, owner);
        }
    }

    /// <summary>
    /// Sends a recorded event again (the owner's or an operator's redelivery): a new delivery of the same body, keyed
    /// <c>&lt;event&gt;#redelivery-&lt;random&gt;</c>, tried at once and retried as any other; null when the owner has no webhook now.
    /// </summary>
    public async Task<Redelivery> RedeliverAsync(WebhookDelivery original, CancellationToken cancellationToken)
    {
        if (await store.EndpointAsync(original.Owner, cancellationToken) is null)
        {
            return new Redelivery(null, RedeliveryRefusal.NoWebhook);
        }
        if (await store.PendingCountAsync(original.Owner, cancellationToken) >= MaxPending)
        {
            // The receiver is failing already, or is being sent a burst: more copies would only queue more jobs.
            return new Redelivery(null, RedeliveryRefusal.TooManyPending);
        }
        var eventKey = original.EventKey.Split(RedeliveryMark)[0] + RedeliveryMark + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var copy = await store.AddAsync(original.Owner, eventKey, original.EventType, original.Payload, cancellationToken)
            ?? throw new InvalidOperationException($"Redelivery {eventKey} of {original.Owner} was recorded before.");
        jobs.Enqueue<WebhookSender>(sender => sender.DeliverAsync(copy.Id, CancellationToken.None));
        return new Redelivery(copy, null);
    }

    private const string RedeliveryMark = "#redelivery-";

    /// <summary>An owner with this many deliveries still being tried gets no redelivery until some end.</summary>
    public const int MaxPending = 10;

    public static string AgentOwner(long agentId) => "agent:" + agentId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string PublisherOwner(long publisherId) => "publisher:" + publisherId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The operators' own webhook: events that belong to no agent or publisher (money that named nobody).</summary>
    public const string OperatorOwner = "operator";
}

/// <summary>
/// One attempt of a delivery: a POST of the recorded body, signed <c>AISA-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex
/// HMAC-SHA256(secret, t + "." + body)&gt;</c>; a 2xx answer delivers it, anything else schedules the next attempt after
/// the next of <see cref="NotificationOptions.RetryDelays"/>, until they run out.
/// </summary>
public sealed class WebhookSender(WebhookStore store, IHttpClientFactory http, IBackgroundJobClient jobs, NotificationOptions options, TimeProvider clock,
    ILogger<WebhookSender> logger)
{
    public const string ClientName = "webhooks";
    public const string SignatureHeader = "AISA-Signature";

    [AutomaticRetry(Attempts = 0)]
    public async Task DeliverAsync(long deliveryId, CancellationToken cancellationToken)
    {
        var delivery = await store.FindAsync(deliveryId, cancellationToken);
        if (delivery is not { State: WebhookStore.Pending })
        {
            return;
        }
        var endpoint = await store.EndpointAsync(delivery.Owner, cancellationToken);
        int? status = null;
        string? error;
        if (endpoint is null)
        {
            error = "The webhook was removed.";
        }
        else
        {
            var timestamp = clock.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url)
            {
                Content = new StringContent(delivery.Payload, Encoding.UTF8, "application/json"),
            };
            request.Headers.Add(SignatureHeader, $"t={timestamp},v1={Sign(endpoint.Secret, timestamp, delivery.Payload)}");
            request.Headers.Add("AISA-Event", delivery.EventType);
            request.Headers.Add("AISA-Delivery", delivery.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            try
            {
                using var response = await http.CreateClient(ClientName).SendAsync(request, cancellationToken);
                status = (int)response.StatusCode;
                error = response.IsSuccessStatusCode ? null : $"The receiver answered {status}.";
            }
            catch (HttpRequestException e)
            {
                error = PublicNetwork.Describe(e);
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                error = $"No answer within {options.TimeoutSeconds} s.";
            }
        }
        if (error is null)
        {
            await store.RecordAttemptAsync(delivery.Id, true, status, null, null, CancellationToken.None);
            return;
        }
        DateTimeOffset? next = delivery.Attempts < options.RetryDelays.Count && endpoint is not null
            ? clock.GetUtcNow() + TimeSpan.FromSeconds(options.RetryDelays[delivery.Attempts])
            : null;
        await store.RecordAttemptAsync(delivery.Id, false, status, error, next, CancellationToken.None);
        if (next is { } at)
        {
            jobs.Schedule<WebhookSender>(sender => sender.DeliverAsync(delivery.Id, CancellationToken.None), at - clock.GetUtcNow());
        }
        logger.LogWarning("Webhook delivery {Delivery} ({Event}) failed on attempt {Attempt}: {Error}{Next}", delivery.Id, delivery.EventType, delivery.Attempts + 1, error,
            next is null ? "; no attempt left" : "; retried later");
    }

    /// <summary>
    /// Queues again the deliveries whose attempt is overdue by a minute: on the embedded default Hangfire keeps its jobs in
    /// memory, so a restart loses the queued ones; their rows say they are still owed. (A delivery may then be tried twice:
    /// webhooks are at least once, and the event's key lets a receiver drop a repeat.)
    /// </summary>
    public static async Task<int> ResumeOverdueAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var store = services.GetRequiredService<WebhookStore>();
        var jobs = services.GetRequiredService<IBackgroundJobClient>();
        var overdue = await store.OverdueAsync(services.GetRequiredService<TimeProvider>().GetUtcNow() - TimeSpan.FromMinutes(1), 10_000, cancellationToken);
        foreach (var delivery in overdue)
        {
            jobs.Enqueue<WebhookSender>(sender => sender.DeliverAsync(delivery.Id, CancellationToken.None));
        }
        return overdue.Count;
    }

    public static string Sign(string secret, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + body)));

    public static IServiceCollection AddWebhookDelivery(IServiceCollection services)
    {
        services.AddSingleton<WebhookStore>();
        services.AddSingleton<Notifier>();
        services.AddTransient<WebhookSender>();
        services.AddHttpClient(ClientName, (provider, client) => client.Timeout = TimeSpan.FromSeconds(provider.GetRequiredService<NotificationOptions>().TimeoutSeconds))
            .ConfigurePrimaryHttpMessageHandler(provider => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseProxy = false,
                UseCookies = false,
                ConnectTimeout = TimeSpan.FromSeconds(5),
                ConnectCallback = PublicNetwork.Connector(PublicNetwork.ResolveAsync, provider.GetRequiredService<NotificationOptions>().AllowPrivateNetworks),
            });
        return services;
    }
}
