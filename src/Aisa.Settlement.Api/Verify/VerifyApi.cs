using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Rails;
using Aisa.Settlement.Storage.Idempotency;

namespace Aisa.Settlement.Api.Verify;

/// <summary><c>POST /api/v1/access/verify</c>: the contract's decision table, with Idempotency-Key per crawler.</summary>
public static class VerifyApi
{
    public static IEndpointRouteBuilder MapVerifyApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/v1/access/verify", VerifyAsync).WithTags("Verify")
            .WithSummary("Decides one request for a publisher's resource: 200 (granted, charged once), 402 (how to pay), 403 (blocked), with Idempotency-Key per crawler.")
            .CalledWith(ApiDocument.CrawlerToken)
            .Takes<VerifyRequest>()
            .Answers<VerifyBody>(200).Answers<VerifyBody>(402).Answers<VerifyBody>(403).Answers<VerifyBody>(404).Answers<VerifyBody>(400)
            .Answers<VerifyBody>(429).Answers<VerifyBody>(500).Answers<VerifyBody>(502)
            .Example("auto-price", "Accept the publisher's price", null,
                """{"publisherDomain":"news.example.com","resourceUrl":"/article/1","crawlerAutoPrice":true}""")
            .Example("charged", "Granted and charged", 200,
                """{"accessGranted":true,"statusCode":200,"rule":{"id":7,"urlPattern":"/article/","accessMode":"pay","price":0.01},"crawlerIdentification":{"recognized":true,"identifier":"GPTBot"},"charge":{"amount":0.01,"currency":"USD","billingType":"per-request","crawlerBalanceBefore":5,"crawlerBalanceAfter":4.99}}""")
            .Example("insufficient-balance", "The wallet is short: every way to pay", 402,
                """{"accessGranted":false,"statusCode":402,"error":"insufficient_balance","message":"The price is USD 0.01 and the wallet holds USD 0.00: top up to continue.","price":{"amount":0.01,"currency":"USD","billingType":"per-request"},"offer":{"rail":"aisa-wallet","priceMicros":10000,"currency":"USD","paymentUrl":"https://pay.example.com/api/agent/topup/create-session","publisher":"news.example.com","endpoint":"/article/1"}}""");
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
