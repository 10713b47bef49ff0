using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Rails;

namespace Aisa.Settlement.Api.Rails;

/// <summary>
/// <c>POST /api/webhooks/{rail}</c>: a rail's signed delivery, handed to the rail with its raw body (read up to the rail's
/// limit and no further). The rail verifies it before reading anything from it; a bad one gets 400 and changes nothing.
/// </summary>
public static class WebhooksApi
{
    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/webhooks/{rail}", ReceiveAsync).WithTags("Webhooks")
            .WithSummary("A rail's own webhook, in the rail's own shape, checked with the rail's signature before anything is read.")
            .Takes<System.Text.Json.Nodes.JsonObject>().Answers<System.Text.Json.Nodes.JsonObject>(200).Refuses(400, 404, 503);
        return endpoints;
    }

    private static async Task<IResult> ReceiveAsync(string rail, HttpRequest request, IRailRegistry rails, CancellationToken cancellationToken)
    {
        if (!RailId.TryParse(rail, out var id) || rails.Find(id) is not IWebhookRail receiver)
        {
            return ApiResponses.Error(404, "rail_not_enabled", $"The {rail} rail is not enabled here.").ToResult();
        }
        var limit = receiver.Limit;
        // The limit holds while reading: nothing past it is read, whatever the sender says its length is.
        if (request.ContentLength > limit.MaxBodyBytes || await ReadAtMostAsync(request.Body, limit.MaxBodyBytes, cancellationToken) is not { } body)
        {
            return ApiResponses.Error(400, "invalid_request", limit.TooLargeMessage).ToResult();
        }
        var answer = await receiver.ReceiveAsync(new WebhookDelivery(name => request.Headers.TryGetValue(name, out var value) ? value.ToString() : null, body), cancellationToken);
        return ApiResponses.Of(answer).ToResult();
    }

    /// <summary>The body, or null as soon as it proves longer than <paramref name="limit"/> bytes (the rest is never read).</summary>
    private static async Task<byte[]?> ReadAtMostAsync(Stream body, int limit, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Min(limit + 1, 64 * 1024)];
        using var kept = new MemoryStream();
        while (true)
        {
            var read = await body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, limit + 1 - kept.Length)), cancellationToken);
            if (read == 0)
            {
                return kept.ToArray();
            }
            kept.Write(buffer, 0, read);
            if (kept.Length > limit)
            {
                return null;
            }
        }
    }
}
