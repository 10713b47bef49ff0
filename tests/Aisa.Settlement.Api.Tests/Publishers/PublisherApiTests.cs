using System.Net;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Publishers;

public abstract class PublisherApiTests(string provider) : ServiceTests(provider)
{
    [Fact]
    public async Task A_publisher_creates_lists_updates_and_deletes_its_rules()
    {
        var (_, session) = await Client.RegisterPublisherAsync();
        var auth = AisaClient.Bearer(session);

        var created = await Client.PostAsync("/api/publisher/rules", new { urlPattern = "/premium/*", accessMode = "pay", price = 0.25m, currency = "USD", billingType = "one-time", crawlerType = "GPTBot" }, auth);
        var id = created.Body.GetProperty("rule").GetProperty("id").GetInt64();
        var updated = await Client.SendAsync(HttpMethod.Put, $"/api/publisher/rules/{id}", """{"urlPattern":"/premium/","accessMode":"pay","price":0.5}""", auth);
        var listed = await Client.SendAsync(HttpMethod.Get, "/api/publisher/rules", headers: auth);
        var deleted = await Client.SendAsync(HttpMethod.Delete, $"/api/publisher/rules/{id}", headers: auth);
        var deletedAgain = await Client.SendAsync(HttpMethod.Delete, $"/api/publisher/rules/{id}", headers: auth);
        var afterDelete = await Client.SendAsync(HttpMethod.Get, "/api/publisher/rules", headers: auth);

        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Equal("one-time", created.Body.GetProperty("rule").GetProperty("billingType").GetString());
        Assert.Equal("GPTBot", created.Body.GetProperty("rule").GetProperty("crawlerType").GetString());
        Assert.Equal(HttpStatusCode.OK, updated.Status);
        Assert.Equal(0.5m, updated.Body.GetProperty("rule").GetProperty("price").GetDecimal());
        Assert.Equal("per-request", updated.Body.GetProperty("rule").GetProperty("billingType").GetString());
        Assert.Equal("/premium/", Assert.Single(listed.Body.GetProperty("rules").EnumerateArray()).GetProperty("urlPattern").GetString());
        Assert.Equal(HttpStatusCode.NoContent, deleted.Status);
        Assert.Equal(HttpStatusCode.NotFound, deletedAgain.Status);
        Assert.Empty(afterDelete.Body.GetProperty("rules").EnumerateArray());
    }

    [Fact]
    public async Task A_publisher_cannot_see_or_change_another_publishers_rules()
    {
        var (_, owner) = await Client.RegisterPublisherAsync();
        var (_, intruder) = await Client.RegisterPublisherAsync();
        var id = await Client.CreateRuleAsync(owner, new NewRule("/", "pay", 0.01m));

        var update = await Client.SendAsync(HttpMethod.Put, $"/api/publisher/rules/{id}", """{"urlPattern":"/","accessMode":"free"}""", AisaClient.Bearer(intruder));
        var delete = await Client.SendAsync(HttpMethod.Delete, $"/api/publisher/rules/{id}", headers: AisaClient.Bearer(intruder));
        var list = await Client.SendAsync(HttpMethod.Get, "/api/publisher/rules", headers: AisaClient.Bearer(intruder));
        var agentSession = await Client.SendAsync(HttpMethod.Get, "/api/publisher/rules", headers: AisaClient.Bearer((await Client.RegisterAgentAsync()).SessionToken));

        Assert.Equal(HttpStatusCode.NotFound, update.Status);
        Assert.Equal(HttpStatusCode.NotFound, delete.Status);
        Assert.Empty(list.Body.GetProperty("rules").EnumerateArray());
        Assert.Equal(HttpStatusCode.Unauthorized, agentSession.Status);
    }

    [Theory]
    [InlineData("""{"urlPattern":"/","accessMode":"pay"}""", "invalid_price")]
    [InlineData("""{"urlPattern":"/","accessMode":"pay","price":-0.01}""", "invalid_price")]
    [InlineData("""{"urlPattern":"/","accessMode":"pay","price":1000000}""", "invalid_price")]
    [InlineData("""{"urlPattern":"/","accessMode":"pay","price":1e308}""", "invalid_request")]
    [InlineData("""{"urlPattern":"/","accessMode":"pay","price":0.0000001}""", "invalid_request")]
    [InlineData("""{"urlPattern":"/","accessMode":"pay","price":"0.10"}""", "invalid_request")]
    [InlineData("""{"urlPattern":"/","accessMode":"pay","price":0.1,"currency":"EUR"}""", "invalid_rule")]
    [InlineData("""{"urlPattern":"/","accessMode":"maybe"}""", "invalid_rule")]
    [InlineData("""{"urlPattern":"/","accessMode":"pay","price":0.1,"billingType":"monthly"}""", "invalid_rule")]
    [InlineData("""{"urlPattern":"article","accessMode":"free"}""", "invalid_rule")]
    [InlineData("""{"urlPattern":"/<script>","accessMode":"free"}""", "invalid_rule")]
    [InlineData("""{"urlPattern":"/a' OR '1'='1","accessMode":"free"}""", "invalid_rule")]
    [InlineData("""{"urlPattern":"/","accessMode":"free","crawlerType":"<b>bot</b>"}""", "invalid_rule")]
    [InlineData("""{"urlPattern":"/","accessMode":"free","colour":"red"}""", "invalid_request")]
    public async Task A_bad_rule_is_refused_with_a_clear_error_and_not_stored(string json, string error)
    {
        var (_, session) = await Client.RegisterPublisherAsync();

        var reply = await Client.SendAsync(HttpMethod.Post, "/api/publisher/rules", json, AisaClient.Bearer(session));
        var list = await Client.SendAsync(HttpMethod.Get, "/api/publisher/rules", headers: AisaClient.Bearer(session));

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal(error, reply.Error);
        Assert.False(reply.Body.GetProperty("success").GetBoolean());
        Assert.Empty(list.Body.GetProperty("rules").EnumerateArray());
    }

    [Fact]
    public async Task A_domain_or_email_can_be_registered_once()
    {
        var (domain, _) = await Client.RegisterPublisherAsync();

        var sameDomain = await Client.PostAsync("/api/publisher/auth/register", new { email = AisaClient.UniqueEmail("p"), password = "correct horse", domain = domain.ToUpperInvariant() });
        var badDomain = await Client.PostAsync("/api/publisher/auth/register", new { email = AisaClient.UniqueEmail("p"), password = "correct horse", domain = "not a domain" });

        Assert.Equal(HttpStatusCode.Conflict, sameDomain.Status);
        Assert.Equal(HttpStatusCode.BadRequest, badDomain.Status);
        Assert.Equal("invalid_domain", badDomain.Error);
    }

    [Fact]
    public async Task A_rule_change_applies_to_the_next_verify()
    {
        var agent = await Client.RegisterAgentAsync();
        await Client.FundAsync(agent.Id, 1m);
        var (domain, session) = await Client.RegisterPublisherAsync();
        var id = await Client.CreateRuleAsync(session, new NewRule("/", "pay", 0.01m));
        var body = new { publisherDomain = domain, resourceUrl = "/a" };
        Assert.Equal(HttpStatusCode.PaymentRequired, (await Client.VerifyAsync(body, agent.CrawlerToken)).Status);

        await Client.SendAsync(HttpMethod.Put, $"/api/publisher/rules/{id}", """{"urlPattern":"/","accessMode":"block"}""", AisaClient.Bearer(session));

        Assert.Equal(HttpStatusCode.Forbidden, (await Client.VerifyAsync(body, agent.CrawlerToken)).Status);
    }
}

public sealed class SqlitePublisherApiTests() : PublisherApiTests(StorageOptions.Sqlite);

public sealed class PostgresPublisherApiTests() : PublisherApiTests(StorageOptions.Postgres);
