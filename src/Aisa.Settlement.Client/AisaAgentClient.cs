using System.Globalization;
using System.Text.Json;

namespace Aisa.Settlement.Client;

/// <summary>
/// The agent's side of the gateway: its account (session), its wallet's top-ups on any rail, its spending policy, and verify
/// with the crawler token (in <c>X-AISA-Crawler-Token</c>, never as a bearer). Holds no credential: each call is given the
/// session or the token it is made with, so one instance (a typed <see cref="HttpClient"/>) serves many agents.
/// </summary>
public sealed class AisaAgentClient(HttpClient http)
{
    public Task<AisaResult<AgentSession>> RegisterAsync(string email, string password, string? name = null, string? crawlerType = null, string? userAgent = null,
        CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Post, "api/agent/auth/register", new { email, password, name, crawlerType, userAgent }, null, AisaHttp.Read<AgentSession>, cancellationToken);

    public Task<AisaResult<AgentSession>> LoginAsync(string email, string password, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Post, "api/agent/auth/login", new { email, password }, null, AisaHttp.Read<AgentSession>, cancellationToken);

    public Task<AisaResult<Crawler>> InfoAsync(string session, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Get, "api/agent/info", null, AisaHttp.Session(session), json => AisaHttp.Read<Crawler>(json, "crawler"), cancellationToken);

    /// <summary>The wallet's balance in US dollars.</summary>
    public async Task<AisaResult<decimal>> BalanceAsync(string session, CancellationToken cancellationToken = default)
    {
        var info = await InfoAsync(session, cancellationToken);
        return new AisaResult<decimal>(info.Status, info.Value is { } crawler ? decimal.Parse(crawler.Balance, CultureInfo.InvariantCulture) : 0m, info.Error);
    }

    /// <summary>A new crawler token; the old one stops working at once.</summary>
    public Task<AisaResult<string>> RotateTokenAsync(string session, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Post, "api/agent/token/rotate", null, AisaHttp.Session(session), json => json.GetProperty("crawlerToken").GetString()!, cancellationToken);

    /// <summary>A top-up of <paramref name="amount"/> US dollars on <paramref name="rail"/>; the answer says how to pay (the rail's instructions).</summary>
    public Task<AisaResult<TopUp>> TopUpAsync(string session, decimal amount, string rail, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Post, "api/agent/topup/create-session", new { amount, rail }, headers =>
        {
            AisaHttp.Session(session)(headers);
            if (idempotencyKey is not null)
            {
                headers.Add("Idempotency-Key", idempotencyKey);
            }
        }, AisaHttp.Read<TopUp>, cancellationToken);

    public Task<AisaResult<IReadOnlyList<Deposit>>> DepositsAsync(string session, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Get, "api/agent/deposits", null, AisaHttp.Session(session), json => AisaHttp.Read<IReadOnlyList<Deposit>>(json, "deposits"), cancellationToken);

    public Task<AisaResult<GuardPolicy>> GuardAsync(string session, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Get, "api/agent/guard", null, AisaHttp.Session(session), json => AisaHttp.Read<GuardPolicy>(json, "guard"), cancellationToken);

    /// <summary>Replaces the whole policy: a field left null is no limit.</summary>
    public Task<AisaResult<GuardPolicy>> SetGuardAsync(string session, GuardPolicy policy, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Put, "api/agent/guard", policy, AisaHttp.Session(session), json => AisaHttp.Read<GuardPolicy>(json, "guard"), cancellationToken);

    /// <summary>
    /// Verify: the gateway decides one request for <paramref name="resourceUrl"/> of <paramref name="publisherDomain"/> and
    /// charges the wallet once. A 402 or 403 is an outcome, not an error: <see cref="AisaResult{T}.Value"/> says why and how
    /// to pay. The same <paramref name="idempotencyKey"/> sent again answers the same, and never charges twice.
    /// </summary>
    public Task<AisaResult<VerifyOutcome>> VerifyAsync(string crawlerToken, string publisherDomain, string resourceUrl, PriceIntent intent, string? idempotencyKey = null,
        CancellationToken cancellationToken = default)
    {
        var body = intent switch
        {
            PriceIntent.ExactPrice exact => new VerifyBody(publisherDomain, resourceUrl, null, Usd(exact.Usd), null),
            PriceIntent.MaxPrice max => new VerifyBody(publisherDomain, resourceUrl, null, null, Usd(max.Usd)),
            _ => new VerifyBody(publisherDomain, resourceUrl, true, null, null),
        };
        return AsOutcome(AisaHttp.SendAsync(http, HttpMethod.Post, "api/v1/access/verify", body, headers =>
        {
            headers.Add(AisaHttp.CrawlerTokenHeader, crawlerToken);
            headers.Add("Idempotency-Key", idempotencyKey ?? Guid.NewGuid().ToString("N"));
        }, AisaHttp.Read<VerifyOutcome>, cancellationToken));
    }

    /// <summary>
    /// Verify, and when the wallet is short (402 <c>insufficient_balance</c>) top it up on <paramref name="budget"/>'s rail —
    /// the shortfall, at least the gateway's minimum — and verify once more, as long as the budget allows the top-up: the
    /// client never tops up more than its budget in all. A top-up the rail does not credit at once (it waits for a payment)
    /// ends the loop with the first refusal; the top-up's instructions are in <see cref="AutoVerify.TopUp"/>.
    /// </summary>
    public async Task<AutoVerify> VerifyWithTopUpAsync(string crawlerToken, string session, string publisherDomain, string resourceUrl, PriceIntent intent,
        TopUpBudget budget, CancellationToken cancellationToken = default)
    {
        var first = await VerifyAsync(crawlerToken, publisherDomain, resourceUrl, intent, null, cancellationToken);
        if (first.Value is not { Error: "insufficient_balance" } refused || refused.Crawler is not { } wallet)
        {
            return new AutoVerify(first, null);
        }
        var minimum = refused.Onboarding?.MinimumTopUp ?? 0m;
        var amount = Math.Max(wallet.Shortfall, minimum);
        if (!budget.TryReserve(amount))
        {
            return new AutoVerify(first, null);
        }
        var topUp = await TopUpAsync(session, amount, budget.Rail, null, cancellationToken);
        if (topUp.Value is not { State: "credited" })
        {
            if (!topUp.Succeeded)
            {
                budget.Release(amount);
            }
            return new AutoVerify(first, topUp);
        }
        // A new key: the first call's refusal is what its key answers for good.
        return new AutoVerify(await VerifyAsync(crawlerToken, publisherDomain, resourceUrl, intent, null, cancellationToken), topUp);
    }

    private static async Task<AisaResult<VerifyOutcome>> AsOutcome(Task<AisaResult<VerifyOutcome>> sent)
    {
        var result = await sent;
        // Verify answers every decision in the same body: a 402 or 403 is a decision to read, not a failure.
        if (result.Error is { Body.ValueKind: JsonValueKind.Object } error && error.Body.TryGetProperty("accessGranted", out _))
        {
            return new AisaResult<VerifyOutcome>(result.Status, AisaHttp.Read<VerifyOutcome>(error.Body), result.Status is 402 or 403 ? null : error);
        }
        return result;
    }

    private static string Usd(decimal amount) => "USD " + amount.ToString("0.######", CultureInfo.InvariantCulture);

    private sealed record VerifyBody(string PublisherDomain, string ResourceUrl, bool? CrawlerAutoPrice, string? CrawlerExactPrice, string? CrawlerMaxPrice);
}

/// <summary>What <see cref="AisaAgentClient.VerifyWithTopUpAsync"/> did: the last verify, and the top-up it made, if any.</summary>
public sealed record AutoVerify(AisaResult<VerifyOutcome> Verify, AisaResult<TopUp>? TopUp);

/// <summary>How much an automatic top-up may add in all, and on which rail; shared by every call that is given it.</summary>
public sealed class TopUpBudget(string rail, decimal limit)
{
    private readonly Lock _lock = new();
    private decimal _used;

    public string Rail => rail;

    public decimal Limit => limit;

    public decimal Used
    {
        get
        {
            lock (_lock)
            {
                return _used;
            }
        }
    }

    internal bool TryReserve(decimal amount)
    {
        lock (_lock)
        {
            if (_used + amount > limit)
            {
                return false;
            }
            _used += amount;
            return true;
        }
    }

    internal void Release(decimal amount)
    {
        lock (_lock)
        {
            _used -= amount;
        }
    }
}
