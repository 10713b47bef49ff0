using Aisa.Settlement.Api.Configuration;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Rails;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Deposits;
using Aisa.Settlement.Storage.Idempotency;
using Aisa.Settlement.Storage.Ledger;
using Aisa.Settlement.Storage.Jobs;
using Aisa.Settlement.Storage.Publishers;
using Microsoft.Extensions.Options;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Api.Deposits;
using Aisa.Settlement.Api.Jobs;

namespace Aisa.Settlement.Api.Operator;

public sealed record AdjustmentRequest(Micros? Amount, string? Reason);

public sealed record AdjustmentView(long Id, Micros Amount, string Reason, Micros BalanceAfter, DateTimeOffset CreatedAt);

public sealed record AdjustmentResponse(AdjustmentView Adjustment, Micros Balance)
{
    public bool Success => true;
}

public sealed record PublisherProofResponse(long PublisherId, string Domain, bool Verified, DateTimeOffset? VerifiedAt, string? VerifiedBy)
{
    public bool Success => true;
}

public sealed record OperatorDepositView(DepositView Deposit, long? AgentId, long? BlockNumber, string? BlockHash, string? LedgerKey);

public sealed record OperatorDepositsPage(IReadOnlyList<OperatorDepositView> Deposits);

public sealed record OperatorDepositDetail(DepositView Deposit, long? AgentId, long? BlockNumber, string? BlockHash, string? LedgerKey, IReadOnlyList<Payouts.TransitionView> Transitions);

public sealed record JobRunView(long Id, string Job, string? Instance, int? Attempt, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, string Outcome, string? Error,
    System.Text.Json.Nodes.JsonNode? Summary);

public sealed record JobsView(IReadOnlyList<Storage.Jobs.JobLease> Leases, IReadOnlyList<JobRunView> Runs);

public sealed record AccountAuditView(long Id, string Code, string Kind, Micros? StoredBalance, Micros DerivedBalance, bool Ok, bool Frozen);

public sealed record AuditView(bool Balanced, long Transfers, Micros TotalMoved, Micros SumOfBalances, IReadOnlyList<string> Problems, int FrozenWallets,
    DateTimeOffset CheckedAt, IReadOnlyList<AccountAuditView> Accounts);

/// <summary>The operator API behind <c>X-AISA-Operator-Key</c>: audited wallet adjustments and the ledger audit.</summary>
public static class OperatorApi
{
    public const string KeyHeader = "X-AISA-Operator-Key";

    public static IEndpointRouteBuilder MapOperatorApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/operator").WithTags("Operator").AddEndpointFilter(RequireOperatorKeyAsync).CalledWith(Http.ApiDocument.OperatorKey);
        group.MapPost("/crawlers/{crawlerId}/adjustments", AdjustAsync)
            .WithSummary("Credits or debits a crawler's wallet by hand, with a reason (Idempotency-Key honoured).")
            .Takes<AdjustmentRequest>().Answers<AdjustmentResponse>(201).Refuses(400, 401, 404, 409);
        group.MapGet("/ledger/audit", AuditAsync)
            .WithSummary("Checks the ledger: every account's stored balance against its transfers, the sum of balances, frozen wallets.").Answers<AuditView>(200).Refuses(401);
        group.MapPost("/publishers/{publisherId}/verify", VerifyPublisherAsync)
            .WithSummary("Marks a publisher's domain proven by the operator (unless another publisher proved it first: 409).").Answers<PublisherProofResponse>(200).Refuses(401, 404, 409);
        group.MapGet("/deposits", DepositsAsync)
            .WithSummary("Deposits of every agent, newest first (rail=, state=, limit=, before=).").Answers<OperatorDepositsPage>(200).Refuses(400, 401);
        group.MapGet("/deposits/{depositId}", DepositAsync)
            .WithSummary("A deposit with its ledger key and every state change with its evidence.").Answers<OperatorDepositDetail>(200).Refuses(401, 404);
        group.MapGet("/jobs", JobsAsync)
            .WithSummary("The job leases and the latest runs (job=, outcome=, limit=, before=).").Answers<JobsView>(200).Refuses(400, 401);
        return endpoints;
    }

    internal static async ValueTask<object?> RequireOperatorKeyAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var configured = context.HttpContext.RequestServices.GetRequiredService<IOptions<OperatorOptions>>().Value.ApiKey;
        if (string.IsNullOrEmpty(configured))
        {
            return ApiResponses.Error(503, "operator_api_disabled", "Set Operator:ApiKey to enable the operator API.").ToResult();
        }
        return Dashboard.DashboardAuth.IsOperatorKey(configured, context.HttpContext.Request.Headers[KeyHeader].ToString())
            ? await next(context)
            : ApiResponses.Error(401, "unauthorized", $"Send the operator key in {KeyHeader}.").ToResult();
    }

    private static async Task<IResult> DepositsAsync(HttpRequest request, DepositStore deposits, CancellationToken cancellationToken)
    {
        var (limit, before, problem) = ApiQuery.ReadPage(request, "before is the id of the last deposit of the previous page.");
        DepositState? state = null;
        if (request.Query.TryGetValue("state", out var stateText))
        {
            if (!DepositStates.TryParse(stateText, out var parsed))
            {
                problem ??= $"state is one of {string.Join(", ", Enum.GetValues<DepositState>().Select(s => s.ToWire()))}.";
            }
            state = parsed;
        }
        if (problem is not null)
        {
            return ApiResponses.Error(400, "invalid_request", problem).ToResult();
        }
        string? rail = request.Query.TryGetValue("rail", out var railText) ? railText.ToString() : null;
        var list = await deposits.ListAsync(new DepositFilter(rail, state, null, before, limit), cancellationToken);
        return ApiResponses.Json(200, new OperatorDepositsPage([.. list.Select(d => new OperatorDepositView(DepositView.Of(d), d.AgentId, d.BlockNumber, d.BlockHash, d.LedgerKey))])).ToResult();
    }

    private static async Task<IResult> DepositAsync(string depositId, DepositStore deposits, CancellationToken cancellationToken)
    {
        var deposit = long.TryParse(depositId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
            ? await deposits.FindAsync(id, cancellationToken)
            : null;
        if (deposit is null)
        {
            return ApiResponses.Error(404, "deposit_not_found", "No deposit has this id.").ToResult();
        }
        var transitions = await deposits.TransitionsAsync(deposit.Id, cancellationToken);
        return ApiResponses.Json(200, new OperatorDepositDetail(DepositView.Of(deposit), deposit.AgentId, deposit.BlockNumber, deposit.BlockHash, deposit.LedgerKey,
            [.. transitions.Select(t => new Payouts.TransitionView(t.From?.ToWire(), t.To.ToWire(), System.Text.Json.Nodes.JsonNode.Parse(t.Evidence), t.CreatedAt)
            {
                Confirmations = t.Confirmations,
            })])).ToResult();
    }

    private static async Task<IResult> JobsAsync(HttpRequest request, JobStore jobs, Jobs.JobRuns history, CancellationToken cancellationToken)
    {
        var (limit, before, problem) = ApiQuery.ReadPage(request, "before is the id of the last run of the previous page.");
        JobOutcome? outcome = null;
        if (request.Query.TryGetValue("outcome", out var outcomeText))
        {
            if (Enum.TryParse<JobOutcome>(outcomeText, ignoreCase: true, out var parsed) && !int.TryParse(outcomeText, out _))
            {
                outcome = parsed;
            }
            else
            {
                problem ??= "outcome is one of running, succeeded, failed.";
            }
        }
        if (problem is not null)
        {
            return ApiResponses.Error(400, "invalid_request", problem).ToResult();
        }
        string? job = request.Query.TryGetValue("job", out var jobText) ? jobText.ToString() : null;
        // Hangfire's storage API is synchronous; its reads are a few queries.
        var runs = history.List(job, outcome, before, limit);
        var leases = await jobs.LeasesAsync(cancellationToken);
        return ApiResponses.Json(200, new JobsView(leases,
            [.. runs.Select(r => new JobRunView(r.Id, r.Job, r.Instance, r.Attempt, r.StartedAt, r.EndedAt, JobStore.Wire(r.Outcome), r.Error, r.Summary))])).ToResult();
    }

    private static async Task<IResult> AdjustAsync(string crawlerId, HttpRequest request, AgentStore agents, ILedger ledger, SystemAccounts accounts, IdempotentRequests idempotency, CancellationToken cancellationToken)
    {
        var body = await ApiJson.ReadAsync<AdjustmentRequest>(request, cancellationToken);
        if (body.Value is not { } input)
        {
            return ApiResponses.Error(400, "invalid_request", body.Problem!).ToResult();
        }
        if (input.Amount is not { } amount || amount == Micros.Zero || amount > PricingLimits.MaxAdjustment || amount < -PricingLimits.MaxAdjustment)
        {
            return ApiResponses.Error(400, "invalid_amount", $"amount is a non-zero USD amount within ±{PricingLimits.MaxAdjustment.ToAmountString()}.").ToResult();
        }
        if (string.IsNullOrWhiteSpace(input.Reason) || input.Reason.Length > 500 || input.Reason.Any(char.IsControl))
        {
            return ApiResponses.Error(400, "invalid_reason", "reason is required: at most 500 characters, no control characters.").ToResult();
        }
        var (key, keyProblem) = IdempotentRequests.ReadKey(request);
        if (keyProblem is not null)
        {
            return ApiResponses.Error(400, "invalid_request", keyProblem).ToResult();
        }
        var agent = long.TryParse(crawlerId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
            ? await agents.FindByIdAsync(id, cancellationToken)
            : null;
        if (agent is null)
        {
            return ApiResponses.Error(404, "crawler_not_found", "No crawler has this id.").ToResult();
        }
        const string scope = "operator";
        async Task<StoredResponse> Adjust(string operationId)
        {
            var reason = input.Reason.Trim();
            var transfer = amount.IsPositive
                ? new TransferRequest("adjustment:" + operationId, accounts.OperatorAdjustments, agent.Wallet, amount, TransferKinds.Adjustment, reason)
                : new TransferRequest("adjustment:" + operationId, agent.Wallet, accounts.OperatorAdjustments, -amount, TransferKinds.Adjustment, reason);
            var result = await ledger.PostAsync(transfer, cancellationToken);
            if (result.Outcome == PostOutcome.InsufficientFunds)
            {
                var balance = await ledger.GetBalanceAsync(agent.Wallet, cancellationToken);
                return ApiResponses.Error(409, "insufficient_balance", $"The wallet holds {balance.ToPriceString()}; a debit may not take it below zero.");
            }
            if (!result.Succeeded)
            {
                throw new InvalidOperationException($"Adjustment {transfer.IdempotencyKey} failed: {result.Outcome}.");
            }
            var posted = result.Transfers[0];
            var after = (amount.IsPositive ? posted.CreditBalanceAfter : posted.DebitBalanceAfter)!.Value;
            return ApiResponses.Json(201, new AdjustmentResponse(new AdjustmentView(posted.Id, amount, reason, after, posted.CreatedAt), after));
        }
        if (key is null)
        {
            return (await Adjust(Guid.NewGuid().ToString("N"))).ToResult();
        }
        var fingerprint = IdempotentRequests.Fingerprint(request.Method, request.Path, body.Raw);
        return (await idempotency.RunAsync(scope, key, fingerprint, Adjust, ApiResponses.Error, cancellationToken)).ToResult();
    }

    private static async Task<IResult> VerifyPublisherAsync(string publisherId, PublisherStore publishers, Publishers.PublisherDirectory directory,
        ILogger<Publishers.DomainProof> logger, CancellationToken cancellationToken)
    {
        var publisher = long.TryParse(publisherId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
            ? await publishers.FindByIdAsync(id, cancellationToken)
            : null;
        if (publisher is null)
        {
            return ApiResponses.Error(404, "publisher_not_found", "No publisher has this id.").ToResult();
        }
        if (await publishers.VerifyDomainAsync(publisher.Id, "operator", cancellationToken) == DomainClaim.TakenByAnother)
        {
            return ApiResponses.Error(409, "domain_taken", $"Another publisher proved {publisher.Domain} first.").ToResult();
        }
        logger.LogInformation("Operator verified the domain {Domain} of publisher {Publisher}.", publisher.Domain, publisher.Id);
        directory.Forget(publisher);
        var now = (await publishers.FindByIdAsync(publisher.Id, cancellationToken))!;
        return ApiResponses.Json(200, new PublisherProofResponse(now.Id, now.Domain, now.DomainVerified, now.DomainVerifiedAt, now.DomainVerifiedBy)).ToResult();
    }

    private static async Task<IResult> AuditAsync(ILedger ledger, CancellationToken cancellationToken)
    {
        var audit = await ledger.AuditAsync(cancellationToken);
        return ApiResponses.Json(200, new AuditView(audit.Balanced, audit.TransferCount, audit.TotalMoved, audit.SumOfBalances, audit.Problems, audit.FrozenWallets,
            audit.CheckedAt, [.. audit.Accounts.Select(a => new AccountAuditView(a.Id.Value, a.Code, a.Kind.ToString(), a.StoredBalance, a.DerivedBalance,
                a.StoredMatchesTransfers, a.Frozen))])).ToResult();
    }
}

public static class PricingLimits
{
    /// <summary>The largest single operator adjustment: bigger movements are not typed by hand.</summary>
    public static readonly Micros MaxAdjustment = Micros.FromUsd(100_000m);
}
