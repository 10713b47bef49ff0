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

    private static async Task<IResult> AddressesAsync(HttpRequest request, DepositAddressService addresses, CancellationToken cancellationToken) =>
        (await AgentAddressesAsync(request.HttpContext.SessionAgent(), addresses, cancellationToken)).ToResult();

    internal static async Task<StoredResponse> AgentAddressesAsync(Agent agent, DepositAddressService addresses, CancellationToken cancellationToken) =>
        ApiResponses.Json(200, new DepositAddressesResponse(await addresses.ForAgentAsync(agent.Id, cancellationToken)));

    private static async Task<IResult> CreateSessionAsync(HttpRequest request, TopUps topUps, CancellationToken cancellationToken)
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
        return (await topUps.StartAsync(request, agent, input, key, IdempotentRequests.Fingerprint(request.Method, request.Path, body.Raw), cancellationToken)).ToResult();
    }

    private static async Task<IResult> DepositsAsync(HttpRequest request, DepositStore deposits, CancellationToken cancellationToken)
    {
        var page = ApiQuery.ReadPage(request, "before is the id of the last deposit of the previous page.");
        return (page.Problem is not null
            ? ApiResponses.Error(400, "invalid_request", page.Problem)
            : await AgentDepositsAsync(request.HttpContext.SessionAgent(), deposits, page.Limit, page.Before, cancellationToken)).ToResult();
    }

    internal static async Task<StoredResponse> AgentDepositsAsync(Agent agent, DepositStore deposits, int limit, long? before, CancellationToken cancellationToken)
    {
        var list = await deposits.ListAsync(new DepositFilter(AgentId: agent.Id, BeforeId: before, Limit: limit), cancellationToken);
        return ApiResponses.Json(200, new DepositsPage([.. list.Select(DepositView.Of)]));
    }

}
