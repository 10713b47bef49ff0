using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Aisa.Settlement.Api.Tests;

public sealed record Registered(long Id, string SessionToken, string CrawlerToken)
{
    /// <summary>The agent's login (its password is "correct horse").</summary>
    public string Email { get; init; } = "";
}

public sealed record Reply(HttpStatusCode Status, JsonElement Body, HttpResponseHeaders Headers, string Raw)
{
    public int Code => (int)Status;

    public string? Header(string name) => Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    public string? Error => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("error", out var error) ? error.GetString() : null;
}

/// <summary>
/// What an AISA client does, over real HTTP against a running service: registration and the wallet's balance through the
/// typed client (src/Aisa.Settlement.Client), as an application would; raw requests where a test needs the bytes.
/// </summary>
public sealed class AisaClient(HttpClient http)
{
    private static int _sequence;

    public HttpClient Http => http;

    public Aisa.Settlement.Client.AisaAgentClient Agents { get; } = new(http);

    public Aisa.Settlement.Client.AisaPublisherClient Publishers { get; } = new(http);

    public static string UniqueEmail(string prefix) => $"{prefix}{Interlocked.Increment(ref _sequence)}.{Guid.NewGuid():N}@example.com";

    public async Task<Reply> SendAsync(HttpMethod method, string path, string? json = null, IDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        using var response = await http.SendAsync(request);
        var raw = await response.Content.ReadAsStringAsync();
        var body = raw.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json"
            ? JsonDocument.Parse(raw).RootElement.Clone()
            : default;
        return new Reply(response.StatusCode, body, response.Headers, raw);
    }

    public Task<Reply> PostAsync(string path, object body, IDictionary<string, string>? headers = null) =>
        SendAsync(HttpMethod.Post, path, JsonSerializer.Serialize(body), headers);

    public async Task<Registered> RegisterAgentAsync(string? crawlerType = null, string? userAgent = null)
    {
        var registered = await Agents.RegisterAsync(UniqueEmail("agent"), "correct horse", crawlerType: crawlerType, userAgent: userAgent);
        Assert.True(registered.Status == 201, registered.Error?.ToString());
        return new Registered(registered.Value!.Crawler.Id, registered.Value.Token, registered.Value.Crawler.CrawlerToken!) { Email = registered.Value.Crawler.Email };
    }

    public async Task<(string Domain, string SessionToken)> RegisterPublisherAsync()
    {
        var domain = $"news-{Guid.NewGuid():N}.example.com";
        var registered = await Publishers.RegisterAsync(UniqueEmail("publisher"), "correct horse", domain);
        Assert.True(registered.Status == 201, registered.Error?.ToString());
        return (domain, registered.Value!.Token);
    }

    public async Task<long> CreateRuleAsync(string publisherSession, Aisa.Settlement.Client.NewRule rule)
    {
        var created = await Publishers.CreateRuleAsync(publisherSession, rule);
        Assert.True(created.Status == 201, created.Error?.ToString());
        return created.Value!.Id;
    }

    public async Task FundAsync(long agentId, decimal usd)
    {
        var reply = await PostAsync($"/api/operator/crawlers/{agentId}/adjustments", new { amount = usd, reason = "test funds" }, Operator());
        Assert.True(reply.Code == 201, reply.Raw);
    }

    public async Task<decimal> BalanceAsync(string agentSession)
    {
        var balance = await Agents.BalanceAsync(agentSession);
        Assert.True(balance.Status == 200, balance.Error?.ToString());
        return balance.Value;
    }

    public async Task<JsonElement> AuditAsync()
    {
        var reply = await SendAsync(HttpMethod.Get, "/api/operator/ledger/audit", headers: Operator());
        Assert.True(reply.Code == 200, reply.Raw);
        return reply.Body;
    }

    public Task<Reply> VerifyAsync(object body, string? crawlerToken, IDictionary<string, string>? headers = null)
    {
        var all = new Dictionary<string, string>(headers ?? new Dictionary<string, string>());
        if (crawlerToken is not null)
        {
            all["X-AISA-Crawler-Token"] = crawlerToken;
        }
        return PostAsync("/api/v1/access/verify", body, all);
    }

    public static Dictionary<string, string> Bearer(string token) => new() { ["Authorization"] = "Bearer " + token };

    public static Dictionary<string, string> Operator() => new() { ["X-AISA-Operator-Key"] = SettlementFactory.OperatorKey };
}
