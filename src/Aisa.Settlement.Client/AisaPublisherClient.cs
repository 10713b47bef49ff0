namespace Aisa.Settlement.Client;

/// <summary>The publisher's side: its account, its pricing rules, its earnings, and the rail it is paid out on. Each call is given the session it is made with.</summary>
public sealed class AisaPublisherClient(HttpClient http)
{
    public Task<AisaResult<PublisherSession>> RegisterAsync(string email, string password, string domain, string? name = null, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Post, "api/publisher/auth/register", new { email, password, name, domain }, null, AisaHttp.Read<PublisherSession>, cancellationToken);

    public Task<AisaResult<PublisherSession>> LoginAsync(string email, string password, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Post, "api/publisher/auth/login", new { email, password }, null, AisaHttp.Read<PublisherSession>, cancellationToken);

    public Task<AisaResult<Rule>> CreateRuleAsync(string session, NewRule rule, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Post, "api/publisher/rules", rule, AisaHttp.Session(session), json => AisaHttp.Read<Rule>(json, "rule"), cancellationToken);

    public Task<AisaResult<IReadOnlyList<Rule>>> RulesAsync(string session, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Get, "api/publisher/rules", null, AisaHttp.Session(session), json => AisaHttp.Read<IReadOnlyList<Rule>>(json, "rules"), cancellationToken);

    public Task<AisaResult<Rule>> UpdateRuleAsync(string session, long id, NewRule rule, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Put, $"api/publisher/rules/{id}", rule, AisaHttp.Session(session), json => AisaHttp.Read<Rule>(json, "rule"), cancellationToken);

    public Task<AisaResult<Earnings>> EarningsAsync(string session, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Get, "api/publisher/earnings", null, AisaHttp.Session(session), json => AisaHttp.Read<Earnings>(json, "earnings"), cancellationToken);

    /// <summary>Chooses the rail and destination the publisher is paid on (the rail checks the destination) and the least paid at once.</summary>
    public Task<AisaResult<PayoutSettings>> SetPayoutSettingsAsync(string session, PayoutSettings settings, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Put, "api/publisher/payout-settings", settings, AisaHttp.Session(session),
            json => AisaHttp.Read<PayoutSettings>(json, "payoutSettings"), cancellationToken);

    public Task<AisaResult<IReadOnlyList<Payout>>> PayoutsAsync(string session, CancellationToken cancellationToken = default) =>
        AisaHttp.SendAsync(http, HttpMethod.Get, "api/publisher/payouts", null, AisaHttp.Session(session), json => AisaHttp.Read<IReadOnlyList<Payout>>(json, "payouts"), cancellationToken);
}
