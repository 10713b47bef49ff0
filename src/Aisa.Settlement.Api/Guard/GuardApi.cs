using Aisa.Settlement.Api.Auth;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Guard;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Guard;
using Aisa.Settlement.Storage.Idempotency;

namespace Aisa.Settlement.Api.Guard;

public sealed record SpendingView(Micros Spent, Micros? Limit, Micros? Remaining, DateTimeOffset RenewsAt);

public sealed record GuardView(GuardPolicy Guard, IReadOnlyDictionary<string, SpendingView> Spending)
{
    public bool Success => true;
}

/// <summary>A signing key: its id (the RFC 7638 thumbprint) and its public JWK.</summary>
public sealed record KeyView(string KeyId, Signatures.PublicJwk Jwk, DateTimeOffset CreatedAt);

public sealed record KeyResponse(KeyView Key)
{
    public bool Success => true;
}

public sealed record KeysResponse(IReadOnlyList<KeyView> Keys)
{
    public bool Success => true;
}

public sealed record ApprovalResponse(ApprovalView Approval)
{
    public bool Success => true;
}

public sealed record ApprovalsResponse(IReadOnlyList<ApprovalView> Approvals)
{
    public bool Success => true;
}

public sealed record ApprovalView(string Id, string Publisher, string Resource, Micros Price, string State, DateTimeOffset CreatedAt, DateTimeOffset? DecidedAt,
    DateTimeOffset? UsedAt, DateTimeOffset? ExpiresAt)
{
    public static ApprovalView Of(Approval approval) => new(approval.Id, approval.PublisherDomain, approval.Resource, approval.Price,
        approval.State.ToString().ToLowerInvariant(), approval.CreatedAt, approval.DecidedAt, approval.UsedAt,
        approval.State is ApprovalState.Pending or ApprovalState.Approved ? approval.CreatedAt + SpendingGuard.ApprovalLifetime : null);
}

/// <summary>
/// The crawler's policy, set by its owner (<c>/api/agent/guard</c>, session) or by an operator
/// (<c>/api/operator/crawlers/{id}/guard</c>), and the approvals waiting for the owner.
/// </summary>
public static class GuardApi
{
    public static IEndpointRouteBuilder MapGuardApi(this IEndpointRouteBuilder endpoints)
    {
        var agent = endpoints.MapGroup("/api/agent").WithTags("Agent");
        agent.MapGet("/guard", (HttpContext context, ILedger ledger, TimeProvider clock, CancellationToken cancellationToken) =>
                ViewAsync(context.SessionAgent(), ledger, clock, cancellationToken))
            .RequireAgentSession().WithSummary("The crawler's spending policy and what it has spent today and this month.").Answers<GuardView>(200).Refuses(401, 403);
        agent.MapPut("/guard", (HttpContext context, AgentStore agents, ILedger ledger, TimeProvider clock, CancellationToken cancellationToken) =>
                ReplaceAsync(context.Request, context.SessionAgent(), agents, ledger, clock, cancellationToken))
            .RequireAgentSession().WithSummary("Replaces the whole policy: a field left out is no limit.")
            .Takes<GuardPolicy>().Answers<GuardView>(200).Refuses(400, 401, 403);
        agent.MapGet("/approvals", ApprovalsAsync).RequireAgentSession().WithSummary("Charges above approvalAbove, newest first (state= filters).")
            .Answers<ApprovalsResponse>(200).Refuses(400, 401, 403);
        agent.MapPost("/approvals/{approvalId}/approve", (string approvalId, HttpContext context, ApprovalStore approvals, TimeProvider clock, CancellationToken cancellationToken) =>
            DecideResultAsync(approvalId, context.SessionAgent(), approvals, ApprovalState.Approved, clock, cancellationToken)).RequireAgentSession()
            .WithSummary("Approves a waiting charge: the next verify of it is charged once.").Answers<ApprovalResponse>(200).Refuses(401, 403, 404, 409);
        agent.MapPost("/approvals/{approvalId}/decline", (string approvalId, HttpContext context, ApprovalStore approvals, TimeProvider clock, CancellationToken cancellationToken) =>
            DecideResultAsync(approvalId, context.SessionAgent(), approvals, ApprovalState.Declined, clock, cancellationToken)).RequireAgentSession()
            .WithSummary("Declines a waiting charge: its verify answers 402 approval_declined.").Answers<ApprovalResponse>(200).Refuses(401, 403, 404, 409);

        agent.MapPost("/keys", AddKeyAsync).RequireAgentSession().WithSummary("Registers an Ed25519 public key (a JWK) for signed requests; its key id is the RFC 7638 thumbprint.")
            .Takes<AddKeyRequest>().Answers<KeyResponse>(201).Answers<KeyResponse>(200).Refuses(400, 401, 403, 409);
        agent.MapGet("/keys", async (HttpContext context, SigningKeyStore keys, CancellationToken cancellationToken) =>
                ApiResponses.Json(200, new KeysResponse([.. (await keys.ListAsync(context.SessionAgent().Id, cancellationToken)).Select(ViewOf)])).ToResult())
            .RequireAgentSession().WithSummary("The crawler's signing keys.").Answers<KeysResponse>(200).Refuses(401, 403);
        agent.MapDelete("/keys/{keyId}", async (string keyId, HttpContext context, SigningKeyStore keys, CancellationToken cancellationToken) =>
                keyId.Length <= 128 && await keys.RemoveAsync(context.SessionAgent().Id, keyId, cancellationToken)
                    ? Results.NoContent()
                    : ApiResponses.Error(404, "key_not_found", "This crawler has no key with this id.").ToResult())
            .RequireAgentSession().WithSummary("Removes a signing key (204).").Produces(204).Refuses(401, 403, 404);

        var operators = endpoints.MapGroup("/api/operator").WithTags("Operator").AddEndpointFilter(Operator.OperatorApi.RequireOperatorKeyAsync).CalledWith(Http.ApiDocument.OperatorKey);
        operators.MapGet("/crawlers/{crawlerId}/guard", async (string crawlerId, AgentStore agents, ILedger ledger, TimeProvider clock, CancellationToken cancellationToken) =>
            await FindAsync(crawlerId, agents, cancellationToken) is { } found
                ? await ViewAsync(found, ledger, clock, cancellationToken)
                : CrawlerNotFound())
            .WithSummary("A crawler's spending policy and spending.").Answers<GuardView>(200).Refuses(401, 404);
        operators.MapPut("/crawlers/{crawlerId}/guard", async (string crawlerId, HttpRequest request, AgentStore agents, ILedger ledger, TimeProvider clock, CancellationToken cancellationToken) =>
            await FindAsync(crawlerId, agents, cancellationToken) is { } found
                ? await ReplaceAsync(request, found, agents, ledger, clock, cancellationToken)
                : CrawlerNotFound())
            .WithSummary("Replaces a crawler's whole policy.").Takes<GuardPolicy>().Answers<GuardView>(200).Refuses(400, 401, 404);
        return endpoints;
    }

    private static async Task<IResult> DecideResultAsync(string approvalId, Agent agent, ApprovalStore approvals, ApprovalState decision, TimeProvider clock,
        CancellationToken cancellationToken) =>
        (await DecideAsync(approvalId, agent, approvals, decision, clock, cancellationToken)).ToResult();

    internal static IResult CrawlerNotFound() => ApiResponses.Error(404, "crawler_not_found", "No crawler has this id.").ToResult();

    /// <summary>The crawler an operator route names by its id, or null.</summary>
    internal static async Task<Agent?> FindAsync(string crawlerId, AgentStore agents, CancellationToken cancellationToken) =>
        long.TryParse(crawlerId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
            ? await agents.FindByIdAsync(id, cancellationToken)
            : null;

    private static async Task<IResult> ViewAsync(Agent agent, ILedger ledger, TimeProvider clock, CancellationToken cancellationToken) =>
        (await GuardAsync(agent, ledger, clock, cancellationToken)).ToResult();

    /// <summary>The crawler's policy and spending, as the API and the wallet's guard page both answer it.</summary>
    internal static async Task<StoredResponse> GuardAsync(Agent agent, ILedger ledger, TimeProvider clock, CancellationToken cancellationToken) =>
        ApiResponses.Json(200, await GuardViewAsync(agent.Wallet, agent.Guard, ledger, clock, cancellationToken));

    public static async Task<GuardView> GuardViewAsync(AccountId wallet, GuardPolicy policy, ILedger ledger, TimeProvider clock, CancellationToken cancellationToken)
    {
        var totals = await ledger.GetSpendingAsync(wallet, clock.GetUtcNow(), cancellationToken);
        SpendingView Of(SpendingPeriod period, Micros? limit)
        {
            var spent = totals.Of(period);
            Micros? remaining = limit is { } cap ? (spent > cap ? Micros.Zero : cap - spent) : null;
            return new SpendingView(spent, limit, remaining, SpendingPeriods.Renews(period, totals.At));
        }
        return new GuardView(policy, new Dictionary<string, SpendingView>
        {
            ["day"] = Of(SpendingPeriod.Day, policy.DailyBudget),
            ["month"] = Of(SpendingPeriod.Month, policy.MonthlyBudget),
        });
    }

    private static async Task<IResult> ReplaceAsync(HttpRequest request, Agent agent, AgentStore agents, ILedger ledger, TimeProvider clock, CancellationToken cancellationToken)
    {
        var body = await ApiJson.ReadAsync<GuardPolicy>(request, cancellationToken);
        return (body.Value is not { } input
            ? ApiResponses.Error(400, "invalid_request", body.Problem!)
            : await ReplaceAsync(input, agent, agents, ledger, clock, cancellationToken)).ToResult();
    }

    /// <summary>Replaces the whole policy, as the API and the wallet's guard page both do it.</summary>
    internal static async Task<StoredResponse> ReplaceAsync(GuardPolicy input, Agent agent, AgentStore agents, ILedger ledger, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (policy, problem) = Validate(input);
        if (policy is null)
        {
            return ApiResponses.Error(400, "invalid_guard", problem!);
        }
        await agents.SetGuardAsync(agent.Id, policy, cancellationToken);
        return ApiResponses.Json(200, await GuardViewAsync(agent.Wallet, policy, ledger, clock, cancellationToken));
    }

    /// <summary>The policy as stored (domains lower case, lists without repeats), or what is wrong with it.</summary>
    public static (GuardPolicy? Policy, string? Problem) Validate(GuardPolicy input)
    {
        foreach (var (name, amount) in new[]
                 {
                     ("maxPricePerRequest", input.MaxPricePerRequest), ("dailyBudget", input.DailyBudget), ("monthlyBudget", input.MonthlyBudget),
                     ("approvalAbove", input.ApprovalAbove),
                 })
        {
            if (amount is { } value && (value < Micros.Zero || value > GuardPolicy.MaxAmount))
            {
                return (null, $"{name} is a USD amount from 0 to {GuardPolicy.MaxAmount.ToAmountString()}, or left out for no limit.");
            }
        }
        if (input.RequestsPerMinute is { } perMinute && perMinute is < 1 or > GuardPolicy.MaxRequestsPerMinute)
        {
            return (null, $"requestsPerMinute is from 1 to {GuardPolicy.MaxRequestsPerMinute}, or left out for no limit.");
        }
        var lists = new List<IReadOnlyList<string>?>();
        foreach (var (name, list) in new[] { ("publisherAllowlist", input.PublisherAllowlist), ("publisherDenylist", input.PublisherDenylist) })
        {
            if (list is null || list.Count == 0)
            {
                lists.Add(null);
                continue;
            }
            if (list.Count > GuardPolicy.MaxListedDomains)
            {
                return (null, $"{name} holds at most {GuardPolicy.MaxListedDomains} domains.");
            }
            var domains = list.Select(Credentials.NormalizeDomain).ToList();
            if (domains.Any(d => d is null))
            {
                return (null, $"{name} holds domains such as news.example.com.");
            }
            lists.Add(domains.Distinct(StringComparer.Ordinal).ToList()!);
        }
        return (input with { PublisherAllowlist = lists[0], PublisherDenylist = lists[1] }, null);
    }

    public sealed record AddKeyRequest(System.Text.Json.JsonElement? Jwk);

    private static KeyView ViewOf(SigningKey key) =>
        new(key.KeyId, new Signatures.Ed25519Jwk(Signatures.Ed25519Jwk.TryBase64Url(key.PublicKey)!).ToPublicJwk(), key.CreatedAt);

    private static async Task<IResult> AddKeyAsync(HttpContext context, SigningKeyStore keys, CancellationToken cancellationToken)
    {
        var body = await ApiJson.ReadAsync<AddKeyRequest>(context.Request, cancellationToken);
        if (body.Value is not { } input)
        {
            return ApiResponses.Error(400, "invalid_request", body.Problem!).ToResult();
        }
        if (input.Jwk is not { } jwk)
        {
            return ApiResponses.Error(400, "missing_fields", "jwk is required: the Ed25519 public key as a JWK.").ToResult();
        }
        var (key, problem) = Signatures.Ed25519Jwk.Parse(jwk);
        if (key is null)
        {
            return ApiResponses.Error(400, "invalid_key", problem!).ToResult();
        }
        var agent = context.SessionAgent();
        if ((await keys.ListAsync(agent.Id, cancellationToken)).Count >= SigningKeyStore.MaxKeysPerAgent)
        {
            return ApiResponses.Error(409, "too_many_keys", $"A crawler has at most {SigningKeyStore.MaxKeysPerAgent} keys: delete one first.").ToResult();
        }
        if (!await keys.AddAsync(agent.Id, key.Thumbprint, key.X, cancellationToken))
        {
            var own = await keys.FindAsync(agent.Id, key.Thumbprint, cancellationToken);
            return own is not null
                ? ApiResponses.Json(200, new KeyResponse(ViewOf(own))).ToResult()
                : ApiResponses.Error(409, "key_registered", "This key is registered to another crawler.").ToResult();
        }
        return ApiResponses.Json(201, new KeyResponse(ViewOf((await keys.FindAsync(agent.Id, key.Thumbprint, cancellationToken))!))).ToResult();
    }

    private static async Task<IResult> ApprovalsAsync(HttpContext context, ApprovalStore approvals, CancellationToken cancellationToken)
    {
        ApprovalState? state = null;
        if (context.Request.Query.TryGetValue("state", out var text))
        {
            if (!Enum.TryParse<ApprovalState>(text.ToString(), ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || text.ToString().Any(char.IsDigit))
            {
                return ApiResponses.Error(400, "invalid_request", "state is pending, approved, declined, used or expired.").ToResult();
            }
            state = parsed;
        }
        return (await ListApprovalsAsync(context.SessionAgent(), state, approvals, cancellationToken)).ToResult();
    }

    internal static async Task<StoredResponse> ListApprovalsAsync(Agent agent, ApprovalState? state, ApprovalStore approvals, CancellationToken cancellationToken) =>
        ApiResponses.Json(200, new ApprovalsResponse([.. (await approvals.ListAsync(agent.Id, state, 100, cancellationToken)).Select(ApprovalView.Of)]));

    internal static async Task<StoredResponse> DecideAsync(string approvalId, Agent agent, ApprovalStore approvals, ApprovalState decision, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var approval = approvalId.Length <= 64 ? await approvals.FindAsync(agent.Id, approvalId, cancellationToken) : null;
        if (approval is null)
        {
            return ApiResponses.Error(404, "approval_not_found", "This crawler has no approval with this id.");
        }
        if (approval.State == decision)
        {
            // The same decision again (a retried request): the same answer.
            return ApiResponses.Json(200, new ApprovalResponse(ApprovalView.Of(approval)));
        }
        var expired = approval.CreatedAt + SpendingGuard.ApprovalLifetime <= clock.GetUtcNow();
        if (approval.State != ApprovalState.Pending || expired
            || !await approvals.MoveAsync(approval.Id, ApprovalState.Pending, decision, null, cancellationToken))
        {
            var now = await approvals.FindAsync(agent.Id, approvalId, cancellationToken) ?? approval;
            return ApiResponses.Error(409, "approval_decided",
                $"This approval is {(expired && now.State == ApprovalState.Pending ? "expired" : now.State.ToString().ToLowerInvariant())}: only a pending one is decided.");
        }
        return ApiResponses.Json(200, new ApprovalResponse(ApprovalView.Of((await approvals.FindAsync(agent.Id, approvalId, cancellationToken))!)));
    }
}
