using Aisa.Settlement.Api.Agents;
using Aisa.Settlement.Api.Auth;
using Aisa.Settlement.Api.Configuration;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Money;
using Aisa.Settlement.Api.Operator;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Deposits;
using Aisa.Settlement.Storage.Idempotency;
using Microsoft.Extensions.Options;

namespace Aisa.Settlement.Api.Rails;

public sealed record CreateSessionRequest(Micros? Amount, string? Rail);

/// <summary>
/// What every rail's top-up answer has; the rest is the rail's own: an invoice (Lightning), a checkout URL (Stripe), an
/// address and its tokens (the chains), where to send an x402 payment.
/// </summary>
public sealed record TopUpAnswer(string Rail, long? DepositId, Micros Amount, string? Message);

public sealed record DepositsPage(IReadOnlyList<DepositView> Deposits);

public sealed record DepositAddressesResponse(IReadOnlyList<DepositInstructions> Addresses);

public sealed record DepositView(
    long Id,
    string Rail,
    string State,
    Micros? Amount,
    Micros? RequestedAmount,
    string? TxHash,
    long? LogIndex,
    string? Address,
    string? Reference,
    int Confirmations,
    int ConfirmationsRequired,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static DepositView Of(Deposit d) => new(
        d.Id, d.Rail, d.State.ToWire(), d.Amount ?? d.RequestedAmount, d.RequestedAmount, d.TransactionHash, d.LogIndex, d.Address, d.ExternalId,
        d.Confirmations, d.ConfirmationsRequired, d.ExpiresAt, d.CreatedAt, d.UpdatedAt);
}

/// <summary>The agent's side of deposits: its addresses, a top-up request on a rail, and its deposits' progress.</summary>
public static class DepositsApi
{
    /// <summary>How long a top-up request waits for its payment; a payment after that is still credited, as a deposit of its own.</summary>
    public static readonly TimeSpan PendingLifetime = TimeSpan.FromHours(24);

    public static IEndpointRouteBuilder MapDepositsApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/agent").WithTags("Agent");
        group.MapGet("/deposit-addresses", AddressesAsync).RequireAgentSession()
            .WithSummary("The agent's own deposit address on each address rail, with the tokens credited there.")
            .Answers<DepositAddressesResponse>(200).Refuses(401, 403);
        group.MapPost("/topup/create-session", CreateSessionAsync).RequireAgentSession().RequireRateLimiting(RateLimits.TopUpPolicy)
            .WithSummary("Starts a top-up of the wallet on a rail (Idempotency-Key honoured): how to pay, and the deposit that tracks it.")
            .Takes<CreateSessionRequest>().Answers<TopUpAnswer>(201).Answers<TopUpAnswer>(200).Refuses(400, 401, 403, 429, 502);
        group.MapGet("/deposits", DepositsAsync).RequireAgentSession()
            .WithSummary("The agent's deposits, newest first, with their state and confirmations.").Answers<DepositsPage>(200).Refuses(400, 401, 403);
        return endpoints;
    }

    private static async Task<IResult> AddressesAsync(HttpRequest request, DepositAddressService addresses, CancellationToken cancellationToken)
    {
        var agent = request.HttpContext.SessionAgent();
        var instructions = await addresses.ForAgentAsync(agent.Id, cancellationToken);
        return ApiResponses.Json(200, new DepositAddressesResponse(instructions)).ToResult();
    }

    private static async Task<IResult> CreateSessionAsync(HttpRequest request, DepositAddressService addresses, IRailRegistry rails, DepositStore deposits, IOptions<PlatformOptions> platform, IdempotentRequests idempotency, TimeProvider clock, CancellationToken cancellationToken)
    {
        var agent = request.HttpContext.SessionAgent();
        var body = await ApiJson.ReadAsync<CreateSessionRequest>(request, cancellationToken);
        if (body.Value is not { } input)
        {
            return ApiResponses.Error(400, "invalid_request", body.Problem!).ToResult();
        }
        var (key, keyProblem) = IdempotentRequests.ReadKey(request);
        if (keyProblem is not null)
        {
            return ApiResponses.Error(400, "invalid_request", keyProblem).ToResult();
        }
        Task<StoredResponse> Create(string _) => CreateTopUpAsync(request, agent, input, addresses, rails, deposits, platform.Value, clock, cancellationToken);
        // A retry with the same key gets the same session and deposit: one top-up, however often it is asked for.
        return key is null
            ? (await Create("")).ToResult()
            : (await idempotency.RunAsync($"agent:{agent.Id}", key, IdempotentRequests.Fingerprint(request.Method, request.Path, body.Raw), Create, ApiResponses.Error, cancellationToken)).ToResult();
    }

    private static async Task<StoredResponse> CreateTopUpAsync(HttpRequest request, Agent agent, CreateSessionRequest input, DepositAddressService addresses,
        IRailRegistry rails, DepositStore deposits, PlatformOptions platform, TimeProvider clock, CancellationToken cancellationToken)
    {
        var minimum = platform.MinTopUpMicros;
        if (input.Amount is not { } amount || amount < minimum || amount > PricingLimits.MaxAdjustment)
        {
            return ApiResponses.Error(400, "invalid_amount", $"amount is a USD amount from {minimum.ToAmountString()} to {PricingLimits.MaxAdjustment.ToAmountString()}.");
        }
        var railName = input.Rail ?? rails.DefaultTopUp?.Value;
        var chosen = RailId.TryParse(railName, out var id) ? rails.Find(id) : null;
        if (chosen is ITopUpRail topUp)
        {
            return ApiResponses.Of(await topUp.CreateTopUpAsync(new TopUpRequest(agent.Id, amount, path => PublicUrls.For(request, platform, path)), cancellationToken));
        }
        if (chosen is not IAddressDepositRail rail)
        {
            var enabled = rails.All.Where(r => r is ITopUpRail or IAddressDepositRail).Select(r => r.Id.Value).ToList();
            var list = enabled.Count == 0 ? "none" : string.Join(", ", enabled);
            return ApiResponses.Error(400, "rail_not_enabled", railName is null
                ? $"Name a rail: none is the default here; enabled: {list}."
                : $"The {railName} rail is not enabled here; enabled: {list}.");
        }
        var instructions = (await addresses.ForAgentAsync(agent.Id, cancellationToken)).Single(i => i.Rail == rail.Id.Value);
        var deposit = await deposits.CreatePendingAsync(rail.Id.Value, agent.Id, amount, instructions.Address.ToLowerInvariant(), rail.Finality.Required,
            clock.GetUtcNow() + PendingLifetime, cancellationToken);
        return ApiResponses.Json(201, new
        {
            depositId = deposit.Id,
            rail = rail.Id.Value,
            chainId = instructions.ChainId,
            address = instructions.Address,
            derivationIndex = instructions.DerivationIndex,
            tokens = instructions.Tokens,
            amount,
            confirmationsRequired = rail.Finality.Required,
            expiresAt = deposit.ExpiresAt,
        });
    }

    private static async Task<IResult> DepositsAsync(HttpRequest request, DepositStore deposits, CancellationToken cancellationToken)
    {
        var agent = request.HttpContext.SessionAgent();
        var page = ApiQuery.ReadPage(request, "before is the id of the last deposit of the previous page.");
        if (page.Problem is not null)
        {
            return ApiResponses.Error(400, "invalid_request", page.Problem).ToResult();
        }
        var list = await deposits.ListAsync(new DepositFilter(AgentId: agent.Id, BeforeId: page.Before, Limit: page.Limit), cancellationToken);
        return ApiResponses.Json(200, new DepositsPage([.. list.Select(DepositView.Of)])).ToResult();
    }

}
