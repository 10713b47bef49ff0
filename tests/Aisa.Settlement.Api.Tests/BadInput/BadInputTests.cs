using System.Text.Json;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.BadInput;

/// <summary>
/// Hostile and broken input at every AISA route: each gets a 4xx in the route's contract shape, and the ledger
/// afterwards holds exactly what it held before.
/// </summary>
public abstract class BadInputTests(string provider) : ServiceTests(provider)
{
    private static readonly string[] Hostile =
    [
        "' OR '1'='1' --",
        "'; DROP TABLE transfers; --",
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "\u0000\u0007",
        new string('a', 10_240),
    ];

    [Fact]
    public async Task Verify_refuses_hostile_strings_in_every_field_and_charges_nothing()
    {
        var agent = await Client.RegisterAgentAsync();
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/", "pay", 0.01m));
        await Client.FundAsync(agent.Id, 1m);
        var before = await LedgerTotalsAsync();
        var fields = new[] { "publisherDomain", "resourceUrl", "crawlerExactPrice", "crawlerMaxPrice", "crawlerAgent", "crawlerToken" };

        foreach (var field in fields)
        {
            foreach (var value in Hostile)
            {
                var body = new Dictionary<string, object?>
                {
                    ["publisherDomain"] = domain,
                    ["resourceUrl"] = "/article/1",
                    ["crawlerAutoPrice"] = field is "crawlerExactPrice" or "crawlerMaxPrice" ? null : true,
                    [field] = value,
                };
                var reply = await Client.SendAsync(HttpMethod.Post, "/api/v1/access/verify", JsonSerializer.Serialize(body),
                    new Dictionary<string, string> { ["X-AISA-Crawler-Token"] = agent.CrawlerToken });

                Assert.True(reply.Code is >= 400 and < 500, $"{field}={value[..Math.Min(20, value.Length)]}: {reply.Code} {reply.Raw[..Math.Min(200, reply.Raw.Length)]}");
                Assert.Equal(reply.Code, reply.Body.GetProperty("statusCode").GetInt32());
                Assert.False(reply.Body.GetProperty("accessGranted").GetBoolean());
                Assert.False(string.IsNullOrEmpty(reply.Error));
                Assert.DoesNotContain("<script>", reply.Raw, StringComparison.Ordinal);
            }
        }

        Assert.Equal(before, await LedgerTotalsAsync());
        Assert.Equal(1m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Theory]
    [InlineData("{\"publisherDomain\": \"a.example\", \"resourceUrl\": \"/a\"")]
    [InlineData("{\"publisherDomain\": \"a.example\",, \"resourceUrl\": \"/a\"}")]
    [InlineData("{\"publisherDomain\": [\"a.example\"], \"resourceUrl\": \"/a\"}")]
    [InlineData("{\"publisherDomain\": \"a.example\", \"resourceUrl\": \"/a\", \"crawlerExactPrice\": 0.01}")]
    [InlineData("{\"publisherDomain\": \"a.example\", \"resourceUrl\": \"/a\", \"crawlerToken\": {}}")]
    [InlineData("{\"publisherDomain\": \"a.example\", \"publisherDomain\": \"b.example\", \"resourceUrl\": \"/a\"}")]
    [InlineData("{\"publisherDomain\": \"a.example\", \"resourceUrl\": \"/a\", \"crawlerMaxPrice\": \"USD 1e308\"}")]
    [InlineData("{\"publisherDomain\": \"a.example\", \"resourceUrl\": \"/a\", \"crawlerMaxPrice\": \"USD 99999999999999999999999\"}")]
    public async Task Verify_refuses_malformed_JSON_wrong_types_and_absurd_prices(string json)
    {
        var agent = await Client.RegisterAgentAsync();

        var reply = await Client.SendAsync(HttpMethod.Post, "/api/v1/access/verify", json, new Dictionary<string, string> { ["X-AISA-Crawler-Token"] = agent.CrawlerToken });

        Assert.Equal(400, reply.Code);
        Assert.Contains(reply.Error, new[] { "invalid_request", "invalid_price_intent" });
        Assert.Equal(400, reply.Body.GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public async Task Agent_and_publisher_registration_refuse_hostile_strings_and_store_nothing()
    {
        var before = await LedgerTotalsAsync();
        foreach (var value in Hostile)
        {
            foreach (var field in new[] { "email", "name", "crawlerType", "userAgent", "companyName" })
            {
                var body = new Dictionary<string, object?> { ["email"] = AisaClient.UniqueEmail("h"), ["password"] = "correct horse", [field] = value };
                var reply = await Client.SendAsync(HttpMethod.Post, "/api/agent/auth/register", JsonSerializer.Serialize(body));
                if (field is "name" or "companyName" && value.StartsWith('\''))
                {
                    // An apostrophe is fair in a person's or company's name (O'Brien): stored as text, never run as SQL.
                    Assert.Equal(201, reply.Code);
                    Assert.Equal(value, reply.Body.GetProperty("crawler").GetProperty(field).GetString());
                    continue;
                }
                Assert.True(reply.Code is >= 400 and < 500, $"{field}: {reply.Code} {reply.Raw}");
                Assert.False(reply.Body.GetProperty("success").GetBoolean());
            }
            foreach (var field in new[] { "email", "name", "domain" })
            {
                var body = new Dictionary<string, object?> { ["email"] = AisaClient.UniqueEmail("h"), ["password"] = "correct horse", ["domain"] = $"d{Guid.NewGuid():N}.example.com", [field] = value };
                var reply = await Client.SendAsync(HttpMethod.Post, "/api/publisher/auth/register", JsonSerializer.Serialize(body));
                if (field == "name" && value.StartsWith('\''))
                {
                    Assert.Equal(201, reply.Code);
                    continue;
                }
                Assert.True(reply.Code is >= 400 and < 500, $"{field}: {reply.Code} {reply.Raw}");
            }
        }

        // The hostile SQL did nothing: the ledger still answers and balances, and moved nothing.
        Assert.Equal(before, await LedgerTotalsAsync());
    }
}

public sealed class SqliteBadInputTests() : BadInputTests(StorageOptions.Sqlite);

public sealed class PostgresBadInputTests() : BadInputTests(StorageOptions.Postgres);
