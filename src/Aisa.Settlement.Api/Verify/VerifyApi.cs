using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Rails;
using Aisa.Settlement.Storage.Idempotency;

namespace Aisa.Settlement.Api.Verify;

/// <summary><c>POST /api/v1/access/verify</c>: the contract's decision table, with Idempotency-Key per crawler.</summary>
public static class VerifyApi
{
    public static IEndpointRouteBuilder MapVerifyApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/v1/access/verify", VerifyAsync).WithTags("Verify");
        return endpoints;
    }

    private static async Task<IResult> VerifyAsync(HttpContext context, VerifyService verify, IdempotentRequests idempotency, Observability.SettlementMetrics metrics,
        Microsoft.Extensions.Options.IOptions<Configuration.PlatformOptions> platform, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        try
        {
            var decision = await DecideAsync(context, verify, idempotency, platform.Value, cancellationToken);
            metrics.Decided(decision.StatusCode);
            return decision.ToResult();
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested)
        {
            // The crawler hung up (the token is RequestAborted): nobody reads this answer, and it is not our failure.
            loggers.CreateLogger(typeof(VerifyApi)).LogDebug(e, "Verify abandoned by the client");
            return Results.Empty;
        }
        catch (Exception e)
        {
            // Whatever failed, the ledger batch of this call committed whole or not at all, and a retry never charges twice.
            loggers.CreateLogger(typeof(VerifyApi)).LogError(e, "Verify failed");
            return VerifyService.Refuse(500, "internal_error",
                "The verify could not be completed. A retry with the same Idempotency-Key answers with its outcome and never charges twice.").ToResult();
        }
    }

    private static async Task<StoredResponse> DecideAsync(HttpContext context, VerifyService verify, IdempotentRequests idempotency, Configuration.PlatformOptions platform,
        CancellationToken cancellationToken)
    {
        var request = context.Request;
        var body = await ApiJson.ReadAsync<VerifyRequest>(request, cancellationToken);
        if (body.Value is not { } input)
        {
            return VerifyService.Refuse(400, "invalid_request", body.Problem!);
        }
        var (key, keyProblem) = IdempotentRequests.ReadKey(request);
        if (keyProblem is not null)
        {
            return VerifyService.Refuse(400, "invalid_request", keyProblem);
        }
        var call = new VerifyCall(
            input,
            Header(request, CrawlerHeaders.Token),
            request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase),
            Header(request, CrawlerHeaders.ExactPrice),
            Header(request, CrawlerHeaders.MaxPrice),
            Header(request, "User-Agent"),
            path => PublicUrls.For(request, platform, path),
            new Guard.RequestSignature(Header(request, Guard.RequestSignature.InputHeader), Header(request, Guard.RequestSignature.SignatureHeader),
                Header(request, Guard.RequestSignature.AgentHeader)));
        var (checkedCall, refusal) = VerifyService.Check(call);
        if (checkedCall is null)
        {
            return refusal!;
        }
        // Where a rail pays one request by itself (x402, L402), a request carrying such a payment is paid with it, whether or not
        // it also carries a crawler token (the wallet's 402 offered it); one with no AISA account at all is offered them.
        if (verify.RequestPaymentRails.Count > 0)
        {
            var sent = verify.RequestPaymentRails.Select(rail => (Rail: rail, Payment: rail.ReadPayment(name => Header(request, name))))
                .FirstOrDefault(paid => paid.Payment is not null);
            if (sent.Payment is not null || (string.IsNullOrEmpty(call.HeaderToken) && string.IsNullOrEmpty(call.Body.CrawlerToken) && !call.SentBearer))
            {
                return await verify.DecideRequestPaymentAsync(checkedCall, sent.Payment is { } payment ? (sent.Rail, payment) : null, cancellationToken);
            }
        }
        var (agent, tokenRefusal) = await verify.AuthenticateAsync(call, cancellationToken);
        if (agent is null)
        {
            return tokenRefusal!;
        }
        if (key is null)
        {
            return await verify.DecideAsync(checkedCall, agent, Guid.NewGuid().ToString("N"), cancellationToken);
        }
        var scope = $"crawler:{agent.Id}";
        var fingerprint = IdempotentRequests.Fingerprint(request.Method, request.Path, body.Raw, call.HeaderExactPrice, call.HeaderMaxPrice);
        return await idempotency.RunAsync(scope, key, fingerprint,
            operationId => verify.DecideAsync(checkedCall, agent, operationId, cancellationToken),
            VerifyService.Refuse, cancellationToken);
    }

    private static string? Header(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var value) ? value.ToString() : null;
}
