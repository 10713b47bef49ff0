using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.X402;
using Aisa.Settlement.Api.Agents;
using Aisa.Settlement.Api.Auth;
using Aisa.Settlement.Api.Configuration;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Operator;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Identity;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Deposits;
using Microsoft.Extensions.Options;

namespace Aisa.Settlement.Api.Rails;

/// <summary>
/// <c>POST /api/agent/topup/x402?amount=…</c>: the wallet topped up with one x402 payment. Unpaid, a 402 with the
/// requirements; paid, the authorization is claimed (never twice), verified and settled through the facilitator,
/// and only a settlement the facilitator reports successful is recorded as a deposit and credited, once.
/// </summary>
public static class X402TopUpApi
{
    public const string Rail = "x402";

    /// <summary>
    /// The ledger key of one request paid with x402 (the publisher's charge, or suspense if the request failed): the
    /// settlement's transfer, so two payments a facilitator settles in one transaction are two bookings.
    /// </summary>
    public static string RequestKey(string network, string transaction, int position) => $"x402:{network}:{transaction}#{position}";

    /// <summary>What an earlier build keyed a request by: its transaction alone.</summary>
    public static string LegacyRequestKey(string network, string transaction) => $"x402:{network}:{transaction}";

    public static IEndpointRouteBuilder MapX402TopUpApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/agent/topup/x402", TopUpAsync).WithTags("Agent").RequireRateLimiting(RateLimits.TopUpPolicy);
        return endpoints;
    }

    private static async Task<IResult> TopUpAsync(HttpRequest request, IServiceProvider services, AgentStore agents, SessionAuthentication sessions,
        IOptions<PlatformOptions> platform, ILedger ledger, CancellationToken cancellationToken)
    {
        if (services.GetService<X402Payments>() is not { } x402 || services.GetService<X402Credits>() is not { } credits)
        {
            return ApiResponses.Error(400, "rail_not_enabled", "The x402 rail is not enabled here: configure Rails:X402.").ToResult();
        }
        var agent = await AgentAsync(request, agents, sessions, cancellationToken);
        if (agent is null)
        {
            return ApiResponses.Error(401, "unauthorized", "Send the crawler token in X-AISA-Crawler-Token, or a session as Authorization: Bearer.").ToResult();
        }
        var minimum = platform.Value.MinTopUpMicros;
        if (!request.Query.TryGetValue("amount", out var amountText) || !Micros.TryParseDecimal(amountText.ToString(), out var amount)
            || amount < minimum || amount > PricingLimits.MaxAdjustment)
        {
            return ApiResponses.Error(400, "invalid_amount", $"amount is a USD amount from {minimum.ToAmountString()} to {PricingLimits.MaxAdjustment.ToAmountString()}, e.g. ?amount=1.00.").ToResult();
        }
        var options = x402.Options;
        var resource = PublicUrls.For(request, platform.Value, $"{request.Path}{request.QueryString}");
        var offer = x402.Offer(amount, resource, $"Top up the AISA wallet with {amount.ToAmountString()} USD");
        if (X402Payments.PaymentHeader(request.Headers) is not { } sent)
        {
            return new PaymentRequiredResult(offer, "payment_required",
                $"Pay {amount.ToAmountString()} USD with x402 (scheme exact, {options.Network}) in the {X402Protocol.SignatureHeader} header. " +
                "BNB Smart Chain's USDC has no EIP-3009, so x402 cannot pay there: on BNB, send USDC to your deposit address (GET /api/agent/deposit-addresses).", null);
        }
        switch (await x402.PayAsync(sent, offer, agent.Id, amount, cancellationToken))
        {
            case X402Outcome.Refused refused:
                return new PaymentRequiredResult(offer, refused.Error, refused.Message, refused.Settlement is null ? null : (refused.Settlement, sent.Version));
            case X402Outcome.Unavailable unavailable:
                return ApiResponses.Error(502, unavailable.Error, unavailable.Message).ToResult();
            case X402Outcome.Settled settled:
                var deposit = await credits.TopUpAsync(agent.Id, settled.Transfer, amount, x402.Evidence(settled), CancellationToken.None);
                await x402.BookedAsync(settled);
                var balance = await ledger.GetBalanceAsync(agent.Wallet, CancellationToken.None);
                return new PaidResult(settled.Settlement, settled.Payment.Version, new
                {
                    success = true,
                    depositId = deposit.Id,
                    state = deposit.State.ToWire(),
                    confirmations = deposit.Confirmations,
                    confirmationsRequired = deposit.ConfirmationsRequired,
                    transaction = settled.Transaction,
                    amount,
                    balance = balance.ToBalanceString(),
                });
            default:
                throw new InvalidOperationException("An x402 payment ends refused, unavailable or settled.");
        }
    }

    private static async Task<Agent?> AgentAsync(HttpRequest request, AgentStore agents, SessionAuthentication sessions, CancellationToken cancellationToken)
    {
        if (request.Headers.TryGetValue("X-AISA-Crawler-Token", out var token) && !string.IsNullOrEmpty(token))
        {
            var byToken = await agents.FindByTokenHashAsync(Secrets.Hash(token.ToString()), cancellationToken);
            return byToken is { Disabled: false } ? byToken : null;
        }
        var (_, agent) = await AgentsApi.AuthenticatedAgentAsync(request, agents, sessions, cancellationToken);
        return agent;
    }

    /// <summary>
    /// 402 with what every client reads: the version 2 <c>PAYMENT-REQUIRED</c> header, and a body that is the AISA error
    /// and the version 1 requirements (<c>x402Version</c>, <c>accepts</c>) at once.
    /// </summary>
    private sealed class PaymentRequiredResult(X402Offer offer, string error, string message, (JsonObject Json, int Version)? settlement) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers[X402Protocol.RequiredHeader] = offer.RequiredHeader(error == "payment_required" ? null : error);
            if (settlement is var (json, version))
            {
                httpContext.Response.Headers[ResponseHeader(version)] = X402Protocol.Encode(json);
            }
            httpContext.Response.Headers.CacheControl = "no-store";
            var body = new JsonObject { ["success"] = false, ["error"] = error, ["message"] = message };
            if (offer.AcceptsV1 is { } accepts)
            {
                body["x402Version"] = 1;
                body["accepts"] = accepts;
            }
            await ApiResponses.Json(402, body).ToResult().ExecuteAsync(httpContext);
        }
    }

    private sealed class PaidResult(JsonObject settlement, int version, object body) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers[ResponseHeader(version)] = X402Protocol.Encode(settlement);
            await ApiResponses.Json(200, body).ToResult().ExecuteAsync(httpContext);
        }
    }

    public static string ResponseHeader(int version) => version == X402Protocol.Version ? X402Protocol.ResponseHeader : X402Protocol.V1ResponseHeader;
}
