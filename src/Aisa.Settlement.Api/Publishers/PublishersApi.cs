using Aisa.Settlement.Api.Auth;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Pricing;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Idempotency;
using Aisa.Settlement.Storage.Pricing;
using Aisa.Settlement.Storage.Publishers;

namespace Aisa.Settlement.Api.Publishers;

public sealed record RegisterPublisherRequest(string? Email, string? Password, string? Name, string? Domain);

public sealed record PublisherLoginRequest(string? Email, string? Password);

/// <param name="DomainVerified">Whether the publisher has shown it controls its domain: until then its rules charge nothing (<c>GET /api/publisher/domain-proof</c>).</param>
public sealed record PublisherView(long Id, string Email, string? Name, string Domain, bool DomainVerified);

public sealed record DomainProofView(string Domain, string Token, string Url, bool Verified, DateTimeOffset? VerifiedAt, string? VerifiedBy)
{
    public bool Success => true;
}

public sealed record PublisherSessionResponse(string Token, PublisherView Publisher)
{
    public bool Success => true;
}

public sealed record RuleRequest(string? UrlPattern, string? AccessMode, Micros? Price, string? Currency, string? BillingType, string? CrawlerType);

public sealed record RuleView(long Id, string UrlPattern, string AccessMode, Micros Price, string Currency, string BillingType, string? CrawlerType, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static RuleView From(PricingRule rule) => new(rule.Id, rule.UrlPattern, rule.AccessMode.ToWire(), rule.Price, "USD",
        rule.BillingType.ToWire(), rule.CrawlerType, rule.CreatedAt, rule.UpdatedAt);
}

/// <param name="Balance">The payable: what is available to pay out (the same as <paramref name="Available"/>, kept for existing clients).</param>
/// <param name="InFlight">In a payout not yet confirmed.</param>
/// <param name="Paid">In payouts confirmed on their rail.</param>
public sealed record EarningsView(Micros Balance, Micros GrossCharges, Micros PlatformFees, Micros Available, Micros InFlight, Micros Paid)
{
    public string Currency => "USD";
}

/// <summary>The publisher API: register with a domain, login, pricing rules, earnings.</summary>
public sealed record RuleResponse(RuleView Rule);

public sealed record RulesResponse(IReadOnlyList<RuleView> Rules);

/// <param name="Available">The same as <c>earnings.available</c>, kept at the top level for existing clients.</param>
public sealed record EarningsResponse(EarningsView Earnings, Micros Available, Micros InFlight, Micros Paid, string Currency);

public static class PublishersApi
{
    public static IEndpointRouteBuilder MapPublishersApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/publisher").WithTags("Publisher");
        group.MapPost("/auth/register", RegisterAsync).RequireRateLimiting(RateLimits.AuthPolicy)
            .WithSummary("Registers a publisher for its domain: its session.").Takes<RegisterPublisherRequest>().Answers<PublisherSessionResponse>(201).Refuses(400, 409, 429);
        group.MapPost("/auth/login", LoginAsync).RequireRateLimiting(RateLimits.AuthPolicy)
            .WithSummary("Logs a publisher in: a new session.").Takes<PublisherLoginRequest>().Answers<PublisherSessionResponse>(200).Refuses(400, 401, 429);
        group.MapPost("/auth/logout", async (HttpRequest request, SessionAuthentication sessions, CancellationToken cancellationToken) =>
            await sessions.EndAsync(request, SessionSubject.Publisher, cancellationToken)).WithSummary("Ends the session it is sent with (204).")
            .CalledWith(ApiDocument.Session).Produces(204).Refuses(401);
        group.MapPost("/rules", CreateRuleAsync).RequirePublisherSession()
            .WithSummary("Adds a pricing rule: a path prefix, pay/free/block, the price and how it is billed, optionally for one crawler type.")
            .Takes<RuleRequest>().Answers<RuleResponse>(201).Refuses(400, 401);
        group.MapGet("/rules", ListRulesAsync).RequirePublisherSession().WithSummary("The publisher's rules.").Answers<RulesResponse>(200).Refuses(401);
        group.MapPut("/rules/{id:long}", UpdateRuleAsync).RequirePublisherSession().WithSummary("Replaces a rule.")
            .Takes<RuleRequest>().Answers<RuleResponse>(200).Refuses(400, 401, 404);
        group.MapDelete("/rules/{id:long}", DeleteRuleAsync).RequirePublisherSession().WithSummary("Deletes a rule (204).").Produces(204).Refuses(401, 404);
        group.MapGet("/earnings", EarningsAsync).RequirePublisherSession()
            .WithSummary("What the publisher earned: charges, the platform's share, available, in flight and paid out.").Answers<EarningsResponse>(200).Refuses(401);
        group.MapGet("/domain-proof", DomainProofAsync).RequirePublisherSession()
            .WithSummary("The token to serve alone at https://<domain>/.well-known/aisa-publisher.txt, and whether the domain is proven.")
            .Answers<DomainProofView>(200).Refuses(401);
        group.MapPost("/domain-proof/check", CheckDomainProofAsync).RequirePublisherSession()
            .WithSummary("Fetches the token from the domain (HTTPS, public addresses, no redirects) and marks the domain proven when it matches.")
            .Answers<DomainProofView>(200).Refuses(401, 409, 422);
        return endpoints;
    }

    private static async Task<IResult> DomainProofAsync(HttpContext context, PublisherStore publishers, CancellationToken cancellationToken) =>
        (await DomainProofOfAsync(context.SessionPublisher(), publishers, cancellationToken)).ToResult();

    internal static async Task<StoredResponse> DomainProofOfAsync(Publisher publisher, PublisherStore publishers, CancellationToken cancellationToken) =>
        ApiResponses.Json(200, await ProofViewAsync(publisher, publishers, cancellationToken));

    private static async Task<DomainProofView> ProofViewAsync(Publisher publisher, PublisherStore publishers, CancellationToken cancellationToken) =>
        new(publisher.Domain, await publishers.DomainTokenAsync(publisher.Id, cancellationToken), DomainProof.UrlOf(publisher.Domain),
            publisher.DomainVerified, publisher.DomainVerifiedAt, publisher.DomainVerifiedBy);

    private static async Task<IResult> CheckDomainProofAsync(HttpContext context, PublisherStore publishers, PublisherDirectory directory, DomainProof proof,
        ILogger<DomainProof> logger, CancellationToken cancellationToken) =>
        (await CheckDomainProofOfAsync(context.SessionPublisher(), publishers, directory, proof, logger, cancellationToken)).ToResult();

    /// <summary>Fetches the publisher's proof from its domain now, as the API and the publisher dashboard's "Check now" both do.</summary>
    internal static async Task<StoredResponse> CheckDomainProofOfAsync(Publisher publisher, PublisherStore publishers, PublisherDirectory directory, DomainProof proof,
        ILogger<DomainProof> logger, CancellationToken cancellationToken)
    {
        if (!publisher.DomainVerified)
        {
            if (await publishers.FindByDomainOrEmailAsync(publisher.Domain, cancellationToken) is { DomainVerified: true } owner && owner.Id != publisher.Id)
            {
                return DomainTaken(publisher);
            }
            var token = await publishers.DomainTokenAsync(publisher.Id, cancellationToken);
            if (await proof.CheckAsync(publisher.Domain, token, cancellationToken) is { } problem)
            {
                return ApiResponses.Error(422, "domain_proof_failed", problem);
            }
            if (await publishers.VerifyDomainAsync(publisher.Id, "well-known", cancellationToken) == DomainClaim.TakenByAnother)
            {
                return DomainTaken(publisher);
            }
            logger.LogInformation("Publisher {Publisher} proved its domain {Domain}.", publisher.Id, publisher.Domain);
            directory.Forget(publisher);
            publisher = (await publishers.FindByIdAsync(publisher.Id, cancellationToken))!;
        }
        return ApiResponses.Json(200, await ProofViewAsync(publisher, publishers, cancellationToken));
    }

    private static StoredResponse DomainTaken(Publisher publisher) =>
        ApiResponses.Error(409, "domain_taken", $"Another publisher proved {publisher.Domain} first: ask an operator.");

    private static async Task<IResult> RegisterAsync(HttpRequest request, PublisherStore publishers, Credentials credentials, SessionAuthentication sessions,
        PublisherOptions options, CancellationToken cancellationToken)
    {
        var body = await ApiJson.ReadAsync<RegisterPublisherRequest>(request, cancellationToken);
        return (body.Value is not { } input
            ? ApiResponses.Error(400, "invalid_request", body.Problem!)
            : await RegisterPublisherAsync(input, publishers, credentials, sessions, options, cancellationToken)).ToResult();
    }

    /// <summary>Registration, as the API and the publisher dashboard's sign-up both do it.</summary>
    internal static async Task<StoredResponse> RegisterPublisherAsync(RegisterPublisherRequest input, PublisherStore publishers, Credentials credentials, SessionAuthentication sessions,
        PublisherOptions options, CancellationToken cancellationToken)
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
        var domain = Credentials.NormalizeDomain(input.Domain);
        if (domain is null)
        {
            return ApiResponses.Error(400, "invalid_domain", "domain is a host name such as news.example.com.");
        }
        if (!Credentials.TryOptionalText(input.Name, Credentials.MaxTextLength, out var name))
        {
            return ApiResponses.Error(400, "invalid_request", $"name is at most {Credentials.MaxTextLength} characters, without control characters.");
        }
        var publisher = await publishers.RegisterAsync(email, credentials.Hash(input.Password!), name, domain, options.RequiresProof ? null : "unchecked", cancellationToken);
        if (publisher is null)
        {
            return ApiResponses.Error(409, "already_registered", "A publisher with this email is registered already, or another publisher has proved this domain.");
        }
        var token = await sessions.IssueAsync(SessionSubject.Publisher, publisher.Id, cancellationToken);
        return ApiResponses.Json(201, new PublisherSessionResponse(token, View(publisher)));
    }

    private static async Task<IResult> LoginAsync(HttpRequest request, PublisherStore publishers, Credentials credentials, SessionAuthentication sessions, CancellationToken cancellationToken)
    {
        var body = await ApiJson.ReadAsync<PublisherLoginRequest>(request, cancellationToken);
        return (body.Value is not { } input
            ? ApiResponses.Error(400, "invalid_request", body.Problem!)
            : await LogInPublisherAsync(input, publishers, credentials, sessions, cancellationToken)).ToResult();
    }

    /// <summary>Login, as the API and the publisher dashboard's login both do it.</summary>
    internal static async Task<StoredResponse> LogInPublisherAsync(PublisherLoginRequest input, PublisherStore publishers, Credentials credentials, SessionAuthentication sessions,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(input.Email) || string.IsNullOrEmpty(input.Password))
        {
            return ApiResponses.Error(400, "missing_fields", "email and password are required.");
        }
        var publisher = Credentials.NormalizeEmail(input.Email) is { } email ? await publishers.FindByEmailAsync(email, cancellationToken) : null;
        if (!credentials.Verify(publisher?.PasswordHash, input.Password) || publisher is null)
        {
            return ApiResponses.Error(401, "invalid_credentials", "The email or the password is wrong.");
        }
        var token = await sessions.IssueAsync(SessionSubject.Publisher, publisher.Id, cancellationToken);
        return ApiResponses.Json(200, new PublisherSessionResponse(token, View(publisher)));
    }

    private static async Task<IResult> CreateRuleAsync(HttpRequest request, RuleStore rules, PublisherDirectory directory, CancellationToken cancellationToken)
    {
        var body = await ApiJson.ReadAsync<RuleRequest>(request, cancellationToken);
        return (body.Value is not { } input
            ? ApiResponses.Error(400, "invalid_request", body.Problem!)
            : await AddRuleAsync(request.HttpContext.SessionPublisher(), input, rules, directory, cancellationToken)).ToResult();
    }

    /// <summary>A new rule, as the API and the publisher dashboard both add one.</summary>
    internal static async Task<StoredResponse> AddRuleAsync(Publisher publisher, RuleRequest input, RuleStore rules, PublisherDirectory directory, CancellationToken cancellationToken)
    {
        var (draft, problem) = DraftOf(input);
        if (draft is null)
        {
            return problem!;
        }
        var rule = await rules.CreateAsync(publisher.Id, draft, cancellationToken);
        directory.Forget(publisher);
        return ApiResponses.Json(201, new RuleResponse(RuleView.From(rule)));
    }

    private static async Task<IResult> ListRulesAsync(HttpRequest request, RuleStore rules, CancellationToken cancellationToken) =>
        (await RulesOfAsync(request.HttpContext.SessionPublisher(), rules, cancellationToken)).ToResult();

    internal static async Task<StoredResponse> RulesOfAsync(Publisher publisher, RuleStore rules, CancellationToken cancellationToken) =>
        ApiResponses.Json(200, new RulesResponse([.. (await rules.ListAsync(publisher.Id, cancellationToken)).Select(RuleView.From)]));

    private static async Task<IResult> UpdateRuleAsync(long id, HttpRequest request, RuleStore rules, PublisherDirectory directory, CancellationToken cancellationToken)
    {
        var body = await ApiJson.ReadAsync<RuleRequest>(request, cancellationToken);
        return (body.Value is not { } input
            ? ApiResponses.Error(400, "invalid_request", body.Problem!)
            : await ReplaceRuleAsync(request.HttpContext.SessionPublisher(), id, input, rules, directory, cancellationToken)).ToResult();
    }

    internal static async Task<StoredResponse> ReplaceRuleAsync(Publisher publisher, long id, RuleRequest input, RuleStore rules, PublisherDirectory directory, CancellationToken cancellationToken)
    {
        var (draft, problem) = DraftOf(input);
        if (draft is null)
        {
            return problem!;
        }
        var rule = await rules.UpdateAsync(publisher.Id, id, draft, cancellationToken);
        directory.Forget(publisher);
        return rule is null
            ? ApiResponses.Error(404, "rule_not_found", "You have no rule with this id.")
            : ApiResponses.Json(200, new RuleResponse(RuleView.From(rule)));
    }

    private static async Task<IResult> DeleteRuleAsync(long id, HttpRequest request, RuleStore rules, PublisherDirectory directory, CancellationToken cancellationToken) =>
        await RemoveRuleAsync(request.HttpContext.SessionPublisher(), id, rules, directory, cancellationToken) is { } refusal ? refusal.ToResult() : Results.NoContent();

    /// <summary>Deletes a rule: null when it is gone, else the refusal.</summary>
    internal static async Task<StoredResponse?> RemoveRuleAsync(Publisher publisher, long id, RuleStore rules, PublisherDirectory directory, CancellationToken cancellationToken)
    {
        var deleted = await rules.DeleteAsync(publisher.Id, id, cancellationToken);
        directory.Forget(publisher);
        return deleted ? null : ApiResponses.Error(404, "rule_not_found", "You have no rule with this id.");
    }

    private static async Task<IResult> EarningsAsync(HttpRequest request, ILedger ledger, Storage.Payouts.PayoutStore payouts, CancellationToken cancellationToken) =>
        (await EarningsOfAsync(request.HttpContext.SessionPublisher(), ledger, payouts, cancellationToken)).ToResult();

    internal static async Task<StoredResponse> EarningsOfAsync(Publisher publisher, ILedger ledger, Storage.Payouts.PayoutStore payouts, CancellationToken cancellationToken)
    {
        var available = await ledger.GetBalanceAsync(publisher.Payable, cancellationToken);
        var totals = await payouts.TotalsAsync(publisher.Id, cancellationToken);
        var earnings = new EarningsView(
            available,
            await ledger.SumAsync(publisher.Payable, TransferKinds.Charge, EntrySide.Credit, cancellationToken),
            await ledger.SumAsync(publisher.Payable, TransferKinds.PlatformFee, EntrySide.Debit, cancellationToken),
            available, totals.InFlight, totals.Paid);
        return ApiResponses.Json(200, new EarningsResponse(earnings, available, totals.InFlight, totals.Paid, "USD"));
    }

    private static (RuleDraft? Draft, StoredResponse? Problem) DraftOf(RuleRequest input)
    {
        if (PricingRule.ValidatePattern(input.UrlPattern) is { } patternProblem)
        {
            return (null, ApiResponses.Error(400, "invalid_rule", patternProblem));
        }
        if (!PricingNames.TryParseAccessMode(input.AccessMode, out var mode))
        {
            return (null, ApiResponses.Error(400, "invalid_rule", "accessMode is pay, free or block."));
        }
        var billing = BillingType.PerRequest;
        if (input.BillingType is not null && !PricingNames.TryParseBillingType(input.BillingType, out billing))
        {
            return (null, ApiResponses.Error(400, "invalid_rule", "billingType is per-request, one-time or time-pass-hour."));
        }
        if (input.Currency is not (null or "USD"))
        {
            return (null, ApiResponses.Error(400, "invalid_rule", "currency is USD."));
        }
        var price = input.Price ?? Micros.Zero;
        if (price < Micros.Zero || price > PricingRule.MaxPrice)
        {
            return (null, ApiResponses.Error(400, "invalid_price", $"price is from 0 to {PricingRule.MaxPrice.ToAmountString()} USD."));
        }
        if (mode == AccessMode.Pay && !price.IsPositive)
        {
            return (null, ApiResponses.Error(400, "invalid_price", "A pay rule has a price above zero."));
        }
        if (!Credentials.TryOptionalText(input.CrawlerType, 64, out var crawlerType) || !Credentials.IsCrawlerType(crawlerType))
        {
            return (null, ApiResponses.Error(400, "invalid_rule", "crawlerType is a bot name: letters, digits, '-', '_' and '.', at most 64."));
        }
        return (new RuleDraft(PricingRule.NormalizePattern(input.UrlPattern!), mode, mode == AccessMode.Pay ? price : Micros.Zero, billing, crawlerType), null);
    }

    private static PublisherView View(Publisher publisher) => new(publisher.Id, publisher.Email, publisher.Name, publisher.Domain, publisher.DomainVerified);
}
