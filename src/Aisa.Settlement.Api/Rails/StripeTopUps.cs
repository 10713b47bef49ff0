using System.Text.Json;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Stripe;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Deposits;

namespace Aisa.Settlement.Api.Rails;

/// <summary>
/// Card top-ups through Stripe Checkout: the request is a pending <c>stripe</c> deposit named by its Checkout Session;
/// a paid session (from a signed webhook, or read by the watcher when no webhook came) credits it once, under
/// <c>stripe:checkout:&lt;session id&gt;</c>, with the amount Stripe says was paid.
/// </summary>
public sealed class StripeTopUps(StripeOptions options, StripeClient stripe, DepositStore deposits, DepositProcessor processor, TimeProvider clock, ILogger<StripeTopUps> logger)
{
    public const string Rail = DepositProcessor.StripeRail;
    private static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(24);

    public StripeOptions Options => options;

    /// <summary>A Checkout Session for <paramref name="amount"/> (whole cents); the deposit is failed if Stripe refuses.</summary>
    public async Task<(Deposit Deposit, CheckoutSession Session)> CreateAsync(long agentId, Micros amount, CancellationToken cancellationToken)
    {
        var deposit = await deposits.CreatePendingAsync(Rail, agentId, amount, null, 1, clock.GetUtcNow() + SessionLifetime, cancellationToken);
        CheckoutSession session;
        try
        {
            session = await stripe.CreateCheckoutSessionAsync(amount.Value / 10_000, deposit.Id, agentId, cancellationToken);
        }
        catch (StripeException e)
        {
            await deposits.MoveAsync(deposit, DepositState.Failed, 0, Evidence.Of(("stripe", e.Message)), CancellationToken.None);
            throw;
        }
        await deposits.AttachAsync(deposit.Id, session.Id, CancellationToken.None);
        return ((await deposits.FindAsync(deposit.Id, CancellationToken.None))!, session);
    }

    /// <summary>Credits a session Stripe reports paid; null when no deposit of ours names it.</summary>
    public async Task<Deposit?> CreditPaidAsync(CheckoutSession session, string source, CancellationToken cancellationToken)
    {
        var deposit = await deposits.FindByExternalIdAsync(Rail, session.Id, cancellationToken);
        if (deposit is null && long.TryParse(session.DepositId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            // The answer naming the session was lost after Stripe made it: the metadata still names the deposit.
            var requested = await deposits.FindAsync(id, cancellationToken);
            if (requested is { Rail: Rail, ExternalId: null })
            {
                await deposits.AttachAsync(requested.Id, session.Id, cancellationToken);
                deposit = await deposits.FindAsync(requested.Id, cancellationToken);
            }
        }
        if (deposit is null)
        {
            logger.LogWarning("Stripe session {Session} is paid but no deposit of this service names it ({Source}).", session.Id, source);
            return null;
        }
        if (!session.Paid || session.Currency != "usd" || session.AmountTotal <= 0)
        {
            return deposit;
        }
        var evidence = new JsonObject
        {
            ["sessionId"] = session.Id,
            ["paymentIntent"] = session.PaymentIntent,
            ["amountTotal"] = session.AmountTotal,
            ["currency"] = session.Currency,
            ["source"] = source,
        };
        return await processor.CreditRequestAsync(Rail, deposit, new Micros(session.AmountTotal * 10_000), evidence, cancellationToken);
    }

    /// <summary>The watcher's pass: every pending session read from Stripe; paid ones credited, expired ones closed.</summary>
    public async Task<JsonObject> PassAsync(CancellationToken cancellationToken)
    {
        var (credited, expired, open) = (0, 0, 0);
        foreach (var deposit in await deposits.PendingAsync(Rail, cancellationToken))
        {
            var session = await stripe.GetCheckoutSessionAsync(deposit.ExternalId!, cancellationToken);
            if (session.Paid)
            {
                if ((await CreditPaidAsync(session, "watcher", cancellationToken))?.State == DepositState.Credited)
                {
                    credited++;
                }
            }
            else if (session.Status == "expired")
            {
                await deposits.MoveAsync(deposit, DepositState.Expired, 0, Evidence.Of(("sessionId", session.Id), ("status", session.Status)), cancellationToken);
                expired++;
            }
            else
            {
                open++;
            }
        }
        return new JsonObject { ["credited"] = credited, ["expired"] = expired, ["open"] = open };
    }
}

/// <summary><c>POST /api/webhooks/stripe</c>: a delivery is verified before anything is read from it; a bad one gets 400 and changes nothing.</summary>
public static class StripeWebhookApi
{
    private const int MaxBody = 1 << 20;

    private static readonly HashSet<string> PaidEvents = new(StringComparer.Ordinal)
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
    };

    public static IEndpointRouteBuilder MapStripeWebhookApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/webhooks/stripe", ReceiveAsync).WithTags("Webhooks");
        return endpoints;
    }

    private static async Task<IResult> ReceiveAsync(HttpRequest request, IServiceProvider services, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (services.GetService<StripeTopUps>() is not { } topUps)
        {
            return ApiResponses.Error(404, "rail_not_enabled", "The stripe rail is not enabled here.").ToResult();
        }
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        if (buffer.Length > MaxBody)
        {
            return ApiResponses.Error(400, "invalid_request", "A Stripe event is at most 1 MB.").ToResult();
        }
        var body = buffer.ToArray();
        var check = StripeSignature.Check(request.Headers["Stripe-Signature"].ToString(), body, topUps.Options.Secrets, clock.GetUtcNow(), StripeSignature.DefaultTolerance);
        if (check != SignatureCheck.Valid)
        {
            var reason = check switch
            {
                SignatureCheck.Missing => "The Stripe-Signature header is missing.",
                SignatureCheck.Malformed => "The Stripe-Signature header has no timestamp or no v1 signature.",
                SignatureCheck.OutsideTolerance => "The delivery was signed outside the 300 s tolerance.",
                _ => "No signature matches the endpoint's secret: a wrong secret or a changed body.",
            };
            return ApiResponses.Error(400, "invalid_signature", reason).ToResult();
        }
        JsonObject? stripeEvent;
        try
        {
            stripeEvent = JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            stripeEvent = null;
        }
        var type = stripeEvent?["type"]?.ToString();
        if (stripeEvent is null || type is null)
        {
            return ApiResponses.Error(400, "invalid_request", "A signed delivery that is not a Stripe event.").ToResult();
        }
        if (PaidEvents.Contains(type) && stripeEvent["data"]?["object"] is JsonObject sessionJson && sessionJson["id"] is not null)
        {
            await topUps.CreditPaidAsync(CheckoutSession.Parse(sessionJson), $"webhook {stripeEvent["id"]}", cancellationToken);
        }
        return ApiResponses.Json(200, new { received = true }).ToResult();
    }
}

/// <summary>Open Checkout Sessions read from Stripe, so a webhook that never came still credits.</summary>
[Quartz.DisallowConcurrentExecution]
public sealed class StripeWatchJob(StripeTopUps topUps, LeasedRuns runs) : Quartz.IJob
{
    public const string Name = "watch:stripe";

    public async ValueTask Execute(Quartz.IJobExecutionContext context, CancellationToken cancellationToken) =>
        await runs.RunAsync(Name, topUps.PassAsync, cancellationToken);
}
