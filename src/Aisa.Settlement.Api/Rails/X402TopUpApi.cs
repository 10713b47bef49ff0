using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.X402;
using Aisa.Settlement.Api.Agents;
using Aisa.Settlement.Api.Auth;
using Aisa.Settlement.Api.Configuration;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Operator;
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

    public static IEndpointRouteBuilder MapX402TopUpApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/agent/topup/x402", TopUpAsync).WithTags("Agent");
        return endpoints;
    }

    private static async Task<IResult> TopUpAsync(HttpRequest request, IServiceProvider services, AgentStore agents, SessionAuthentication sessions,
        IOptions<PlatformOptions> platform, X402AuthorizationStore authorizations, DepositProcessor processor, ILedger ledger, CancellationToken cancellationToken)
    {
        if (services.GetService<X402Options>() is not { } options || services.GetService<FacilitatorClient>() is not { } facilitator)
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
        var requirements = X402Protocol.Requirements(options, TokenUnits.FromMicros(amount, options.AssetDecimals));
        var resource = $"{request.Scheme}://{request.Host}{request.Path}{request.QueryString}";
        IResult PaymentRequired(string? error, string message) => new PaymentRequiredResult(
            X402Protocol.PaymentRequired(requirements, resource, $"Top up the AISA wallet with {amount.ToAmountString()} USD", error), error ?? "payment_required", message, null);

        if (!request.Headers.TryGetValue(X402Protocol.SignatureHeader, out var header))
        {
            return PaymentRequired(null, $"Pay {amount.ToAmountString()} USD with x402 (scheme exact, {options.Network}) in the {X402Protocol.SignatureHeader} header.");
        }
        var (payment, problem) = X402Protocol.Decode(header.ToString());
        if (payment is null)
        {
            return PaymentRequired("invalid_payload", problem!);
        }
        if (!X402Protocol.Matches(payment.Accepted, requirements))
        {
            return PaymentRequired("invalid_payment_requirements", "The payment does not match these requirements (scheme, network, amount, asset, payTo).");
        }
        if (!await authorizations.TryClaimAsync(options.Network, payment.Payer, payment.Nonce, agent.Id, amount, cancellationToken))
        {
            return PaymentRequired("invalid_exact_evm_nonce_already_used", "This authorization was used already: sign a new payment.");
        }

        VerifyResult verified;
        try
        {
            verified = await facilitator.VerifyAsync(payment, requirements, cancellationToken);
        }
        catch (FacilitatorUnavailableException e)
        {
            await authorizations.ReleaseAsync(options.Network, payment.Payer, payment.Nonce, CancellationToken.None);
            return ApiResponses.Error(502, "facilitator_unavailable", e.Message + " Nothing was charged; retry the same payment.").ToResult();
        }
        if (!verified.IsValid)
        {
            await authorizations.ReleaseAsync(options.Network, payment.Payer, payment.Nonce, CancellationToken.None);
            return PaymentRequired(verified.InvalidReason ?? "invalid_payload", "The facilitator refused the payment: " + (verified.InvalidReason ?? "no reason given") + ".");
        }

        SettleResult settled;
        try
        {
            settled = await facilitator.SettleAsync(payment, requirements, CancellationToken.None);
        }
        catch (FacilitatorUnavailableException e)
        {
            // The settlement may have reached the chain: the claim stays, so the authorization cannot pay twice.
            return ApiResponses.Error(502, "settlement_unknown", e.Message + " The payment may have settled; it is kept for reconciliation and cannot be used again.").ToResult();
        }
        if (!settled.Success || string.IsNullOrEmpty(settled.Transaction))
        {
            await authorizations.ReleaseAsync(options.Network, payment.Payer, payment.Nonce, CancellationToken.None);
            return new PaymentRequiredResult(X402Protocol.PaymentRequired(requirements, resource, "", settled.ErrorReason ?? "settlement_failed"),
                settled.ErrorReason ?? "settlement_failed", "The facilitator could not settle the payment: " + (settled.ErrorReason ?? "no reason given") + ".", settled.Json);
        }

        var transaction = settled.Transaction.ToLowerInvariant();
        await authorizations.SettledAsync(options.Network, payment.Payer, payment.Nonce, transaction, CancellationToken.None);
        var evidence = new JsonObject
        {
            ["network"] = options.Network,
            ["txHash"] = transaction,
            ["payer"] = payment.Payer,
            ["nonce"] = payment.Nonce,
            ["tokenAmount"] = payment.Value,
            ["facilitator"] = new Uri(options.FacilitatorUrl!).Host,
        };
        var deposit = await processor.CreditSettledAsync(Rail,
            new DepositPayment(agent.Id, $"{options.Network}:{transaction}", transaction, null, options.PayTo!.ToLowerInvariant(), options.Asset!.ToLowerInvariant(), payment.Value, amount, null, null),
            evidence, CancellationToken.None);
        var balance = await ledger.GetBalanceAsync(agent.Wallet, CancellationToken.None);
        return new PaidResult(settled.Json, new { success = true, depositId = deposit.Id, transaction, amount, balance = balance.ToBalanceString() });
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

    /// <summary>402 with the x402 header the official clients read, and the AISA error body for everyone else.</summary>
    private sealed class PaymentRequiredResult(JsonObject paymentRequired, string error, string message, JsonObject? settlement) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers[X402Protocol.RequiredHeader] = X402Protocol.Encode(paymentRequired);
            if (settlement is not null)
            {
                httpContext.Response.Headers[X402Protocol.ResponseHeader] = X402Protocol.Encode(settlement);
            }
            httpContext.Response.Headers.CacheControl = "no-store";
            await ApiResponses.Error(402, error, message).ToResult().ExecuteAsync(httpContext);
        }
    }

    private sealed class PaidResult(JsonObject settlement, object body) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers[X402Protocol.ResponseHeader] = X402Protocol.Encode(settlement);
            await ApiResponses.Json(200, body).ToResult().ExecuteAsync(httpContext);
        }
    }
}
