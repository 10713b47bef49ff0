using Aisa.Settlement.Api.Auth;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Identity;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Idempotency;

namespace Aisa.Settlement.Api.Agents;

public sealed record RegisterAgentRequest(string? Email, string? Password, string? Name, string? CrawlerType, string? UserAgent, string? CompanyName);

public sealed record LoginRequest(string? Email, string? Password);

public sealed record CrawlerView(
    long Id,
    Guid CrawlerUuid,
    string Email,
    string? Name,
    string? CrawlerType,
    string? UserAgent,
    string? CompanyName,
    string? CrawlerToken,
    string Balance,
    string TotalSpent,
    DateTimeOffset CreatedAt);

public sealed record AgentSessionResponse(string Token, CrawlerView Crawler)
{
    public bool Success => true;
}

public sealed record AgentInfoResponse(CrawlerView Crawler);

public sealed record RotatedTokenResponse(string CrawlerToken)
{
    public bool Success => true;
}

public sealed record TransactionView(long Id, string Type, Micros Amount, Micros? BalanceAfter, DateTimeOffset CreatedAt, string? Reference);

/// <param name="NextCursor">The <c>before</c> of the next page; null (written out) on the last page.</param>
public sealed record TransactionsPage(
    IReadOnlyList<TransactionView> Transactions,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? NextCursor);

/// <summary>The AISA agent (crawler) API: register, login, info, token rotation, the wallet statement.</summary>
public static class AgentsApi
{
    public static IEndpointRouteBuilder MapAgentsApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/agent").WithTags("Agent");
        group.MapPost("/auth/register", RegisterAsync).RequireRateLimiting(RateLimits.AuthPolicy)
            .WithSummary("Registers an agent: its session and its crawler token (shown this once).")
            .Takes<RegisterAgentRequest>().Answers<AgentSessionResponse>(201).Refuses(400, 409, 429);
        group.MapPost("/auth/login", LoginAsync).RequireRateLimiting(RateLimits.AuthPolicy)
            .WithSummary("Logs an agent in: a new session (the crawler token is not shown again).")
            .Takes<LoginRequest>().Answers<AgentSessionResponse>(200).Refuses(400, 401, 403, 429);
        group.MapPost("/auth/logout", async (HttpRequest request, SessionAuthentication sessions, CancellationToken cancellationToken) =>
            await sessions.EndAsync(request, SessionSubject.Agent, cancellationToken)).WithSummary("Ends the session it is sent with (204).")
            .CalledWith(ApiDocument.Session).Produces(204).Refuses(401);
        group.MapGet("/info", InfoAsync).RequireAgentSession()
            .WithSummary("The agent and its wallet's balance.").Answers<AgentInfoResponse>(200).Refuses(401, 403);
        group.MapPost("/token/rotate", RotateTokenAsync).RequireAgentSession()
            .WithSummary("A new crawler token (shown this once); the old one stops working at once.").Answers<RotatedTokenResponse>(200).Refuses(401, 403);
        group.MapGet("/transactions", TransactionsAsync).RequireAgentSession()
            .WithSummary("The wallet's statement, newest first (limit=, before=).").Answers<TransactionsPage>(200).Refuses(400, 401, 403);
        return endpoints;
    }

    private static async Task<IResult> RegisterAsync(HttpRequest request, AgentStore agents, Credentials credentials, SessionAuthentication sessions, CancellationToken cancellationToken)
    {
        var body = await ApiJson.ReadAsync<RegisterAgentRequest>(request, cancellationToken);
        return (body.Value is not { } input
            ? ApiResponses.Error(400, "invalid_request", body.Problem!)
            : await RegisterAgentAsync(input, agents, credentials, sessions, cancellationToken)).ToResult();
    }

    /// <summary>Registration, as the API and the wallet's sign-up page both do it.</summary>
    internal static async Task<StoredResponse> RegisterAgentAsync(RegisterAgentRequest input, AgentStore agents, Credentials credentials, SessionAuthentication sessions, CancellationToken cancellationToken)
    {
        var email = Credentials.NormalizeEmail(input.Email);
        if (email is null)
        {
            return ApiResponses.Error(400, "invalid_email", "The email address is not valid.");
        }
        if (Credentials.PasswordProblem(input.Password) is { } passwordProblem)
        {
            return ApiResponses.Error(400, "invalid_password", passwordProblem);
        }
        if (!Credentials.TryOptionalText(input.Name, Credentials.MaxTextLength, out var name)
            || !Credentials.TryUserAgent(input.UserAgent, out var userAgent)
            || !Credentials.TryOptionalText(input.CompanyName, Credentials.MaxTextLength, out var company))
        {
            return ApiResponses.Error(400, "invalid_request", $"name and companyName are at most {Credentials.MaxTextLength} characters without markup; userAgent at most 500 printable characters without quotes or markup.");
        }
        if (!Credentials.TryOptionalText(input.CrawlerType, 64, out var crawlerType) || !Credentials.IsCrawlerType(crawlerType))
        {
            return ApiResponses.Error(400, "invalid_request", "crawlerType is a bot name: letters, digits, '-', '_' and '.', at most 64.");
        }
        var crawlerToken = Secrets.NewCrawlerToken();
        var agent = await agents.RegisterAsync(
            new NewAgent(email, credentials.Hash(input.Password!), name, crawlerType, userAgent, company, Secrets.Hash(crawlerToken)), cancellationToken);
        if (agent is null)
        {
            return ApiResponses.Error(409, "email_taken", "An agent with this email is registered already.");
        }
        var token = await sessions.IssueAsync(SessionSubject.Agent, agent.Id, cancellationToken);
        return ApiResponses.Json(201, new AgentSessionResponse(token, View(agent, crawlerToken, Micros.Zero, Micros.Zero)));
    }

    private static async Task<IResult> LoginAsync(HttpRequest request, AgentStore agents, ILedger ledger, Credentials credentials, SessionAuthentication sessions, CancellationToken cancellationToken)
    {
        var body = await ApiJson.ReadAsync<LoginRequest>(request, cancellationToken);
        return (body.Value is not { } input
            ? ApiResponses.Error(400, "invalid_request", body.Problem!)
            : await LogInAsync(input, agents, ledger, credentials, sessions, cancellationToken)).ToResult();
    }

    /// <summary>Login, as the API and the wallet's login page both do it.</summary>
    internal static async Task<StoredResponse> LogInAsync(LoginRequest input, AgentStore agents, ILedger ledger, Credentials credentials, SessionAuthentication sessions, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(input.Email) || string.IsNullOrEmpty(input.Password))
        {
            return ApiResponses.Error(400, "missing_fields", "email and password are required.");
        }
        var agent = Credentials.NormalizeEmail(input.Email) is { } email ? await agents.FindByEmailAsync(email, cancellationToken) : null;
        if (!credentials.Verify(agent?.PasswordHash, input.Password) || agent is null)
        {
            return ApiResponses.Error(401, "invalid_credentials", "The email or the password is wrong.");
        }
        if (agent.Disabled)
        {
            return ApiResponses.Error(403, "account_disabled", "This agent is disabled.");
        }
        var token = await sessions.IssueAsync(SessionSubject.Agent, agent.Id, cancellationToken);
        return ApiResponses.Json(200, new AgentSessionResponse(token, await ViewAsync(agent, ledger, cancellationToken)));
    }

    private static async Task<IResult> InfoAsync(HttpRequest request, ILedger ledger, CancellationToken cancellationToken) =>
        (await AgentInfoAsync(request.HttpContext.SessionAgent(), ledger, cancellationToken)).ToResult();

    internal static async Task<StoredResponse> AgentInfoAsync(Agent agent, ILedger ledger, CancellationToken cancellationToken) =>
        ApiResponses.Json(200, new AgentInfoResponse(await ViewAsync(agent, ledger, cancellationToken)));

    private static async Task<IResult> RotateTokenAsync(HttpRequest request, AgentStore agents, CancellationToken cancellationToken) =>
        (await RotateCrawlerTokenAsync(request.HttpContext.SessionAgent(), agents, cancellationToken)).ToResult();

    internal static async Task<StoredResponse> RotateCrawlerTokenAsync(Agent agent, AgentStore agents, CancellationToken cancellationToken)
    {
        var crawlerToken = Secrets.NewCrawlerToken();
        await agents.RotateTokenAsync(agent.Id, Secrets.Hash(crawlerToken), cancellationToken);
        return ApiResponses.Json(200, new RotatedTokenResponse(crawlerToken));
    }

    private static async Task<IResult> TransactionsAsync(HttpRequest request, ILedger ledger, CancellationToken cancellationToken)
    {
        var (limit, before, problem) = ApiQuery.ReadPage(request, "before is the nextCursor of a previous page.");
        return (problem is not null
            ? ApiResponses.Error(400, "invalid_request", problem)
            : await StatementAsync(request.HttpContext.SessionAgent(), ledger, limit, before, cancellationToken)).ToResult();
    }

    internal static async Task<StoredResponse> StatementAsync(Agent agent, ILedger ledger, int limit, long? before, CancellationToken cancellationToken)
    {
        // One more than asked: whether it exists says whether there is a next page.
        var transfers = await ledger.ListTransfersAsync(agent.Wallet, limit + 1, before, cancellationToken);
        var entries = transfers.Take(limit).Select(t => t.Credit == agent.Wallet
                ? new TransactionView(t.Id, t.Kind, t.Amount, t.CreditBalanceAfter, t.CreatedAt, t.Reference)
                : new TransactionView(t.Id, t.Kind, -t.Amount, t.DebitBalanceAfter, t.CreatedAt, t.Reference))
            .ToList();
        var nextCursor = transfers.Count > limit ? entries[^1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        return ApiResponses.Json(200, new TransactionsPage(entries, nextCursor));
    }

    internal static async Task<(StoredResponse? Refusal, Agent? Agent)> AuthenticatedAgentAsync(HttpRequest request, AgentStore agents, SessionAuthentication sessions, CancellationToken cancellationToken)
    {
        var (id, refusal) = await sessions.AuthenticateAsync(request, SessionSubject.Agent, cancellationToken);
        if (id is null)
        {
            return (refusal, null);
        }
        var agent = await agents.FindByIdAsync(id.Value, cancellationToken);
        return agent is null || agent.Disabled
            ? (ApiResponses.Error(403, "account_disabled", "This agent is disabled."), null)
            : (null, agent);
    }

    private static async Task<CrawlerView> ViewAsync(Agent agent, ILedger ledger, CancellationToken cancellationToken) =>
        View(agent, null,
            await ledger.GetBalanceAsync(agent.Wallet, cancellationToken),
            await ledger.SumAsync(agent.Wallet, TransferKinds.Charge, EntrySide.Debit, cancellationToken));

    private static CrawlerView View(Agent agent, string? crawlerToken, Micros balance, Micros spent) => new(
        agent.Id, agent.CrawlerUuid, agent.Email, agent.Name, agent.CrawlerType, agent.UserAgent, agent.CompanyName, crawlerToken,
        balance.ToBalanceString(), spent.ToBalanceString(), agent.CreatedAt);
}
