using System.Text.Json.Nodes;
using Aisa.Settlement.Api.Agents;
using Aisa.Settlement.Api.Auth;
using Aisa.Settlement.Api.Configuration;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Operator;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Identity;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Deposits;
using Microsoft.Extensions.Options;

namespace Aisa.Settlement.Api.Rails;

/// <param name="Balance">The wallet's balance after the credit (while the deposit waits for confirmations, before it).</param>
public sealed record AuthorizationTopUpResponse(long DepositId, string State, int Confirmations, int ConfirmationsRequired, string Transaction, Micros Amount, string Balance)
{
    public bool Success => true;
}

/// <summary>
/// <c>POST /api/agent/topup/{rail}?amount=…</c> on an authorization-payment rail (x402): the wallet topped up with one
/// signed payment. Unpaid, a 402 with the rail's requirements; paid, the rail claims the authorization (never twice),
/// settles it, and only a settlement it reports successful is booked as a deposit, once.
/// </summary>
public static class AuthorizationTopUpApi
{
    public static IEndpointRouteBuilder MapAuthorizationTopUpApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/agent/topup/{rail}", TopUpAsync).WithTags("Agent").RequireRateLimiting(RateLimits.TopUpPolicy)
            .WithSummary("A top-up paid by a signed authorization the request carries: unpaid, 402 with the rail's requirements; paid, settled and credited once.")
            .CalledWith(Http.ApiDocument.CrawlerToken).CalledWith(Http.ApiDocument.Session)
            .Answers<AuthorizationTopUpResponse>(200).Refuses(400, 401, 402, 429, 502);
        return endpoints;
    }

    private static async Task<IResult> TopUpAsync(string rail, HttpRequest request, IRailRegistry rails, AgentStore agents, SessionAuthentication sessions,
        IOptions<PlatformOptions> platform, ILedger ledger, CancellationToken cancellationToken)
    {
        if (!RailId.TryParse(rail, out var id) || rails.Find(id) is not IAuthorizationPaymentRail payments)
        {
            return ApiResponses.Error(400, "rail_not_enabled", $"The {rail} rail is not enabled here: a top-up at this address is paid by a signed authorization.").ToResult();
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
        var resource = PublicUrls.For(request, platform.Value, $"{request.Path}{request.QueryString}");
        var offer = payments.Offer(amount, resource, $"Top up the AISA wallet with {amount.ToAmountString()} USD");
        if (payments.ReadPayment(name => request.Headers.TryGetValue(name, out var value) ? value.ToString() : null) is not { } sent)
        {
            return new PaymentRequiredResult(offer, "payment_required", payments.HowToTopUp(amount), new Dictionary<string, string>());
        }
        switch (await payments.PayAsync(sent, offer, agent.Id, amount, cancellationToken))
        {
            case AuthorizationOutcome.Refused refused:
                return new PaymentRequiredResult(offer, refused.Error, refused.Message, refused.Headers);
            case AuthorizationOutcome.Unavailable unavailable:
                return ApiResponses.Error(502, unavailable.Error, unavailable.Message).ToResult();
            case AuthorizationOutcome.Settled settled:
                var deposit = await payments.CreditTopUpAsync(agent.Id, settled, amount, CancellationToken.None);
                await payments.BookedAsync(settled);
                var balance = await ledger.GetBalanceAsync(agent.Wallet, CancellationToken.None);
                return ApiResponses.Json(200, new AuthorizationTopUpResponse(deposit.Id, deposit.State.ToWire(), deposit.Confirmations, deposit.ConfirmationsRequired,
                    settled.Transaction, amount, balance.ToBalanceString()), settled.Headers).ToResult();
            default:
                throw new InvalidOperationException("An authorization payment ends refused, unavailable or settled.");
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
    /// 402 with what every client reads: the rail's requirement headers, and a body that is the AISA error and the fields
    /// clients read the requirements from (x402 version 1: <c>x402Version</c>, <c>accepts</c>) at once.
    /// </summary>
    private sealed class PaymentRequiredResult(PaymentOffer offer, string error, string message, IReadOnlyDictionary<string, string> outcomeHeaders) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var headers = new Dictionary<string, string>(offer.RequiredHeaders(error == "payment_required" ? null : error));
            foreach (var (name, value) in outcomeHeaders)
            {
                headers[name] = value;
            }
            headers["Cache-Control"] = "no-store";
            var body = new JsonObject { ["success"] = false, ["error"] = error, ["message"] = message };
            foreach (var (name, value) in offer.BodyFields)
            {
                body[name] = value?.DeepClone();
            }
            await ApiResponses.Json(402, body, headers).ToResult().ExecuteAsync(httpContext);
        }
    }
}
