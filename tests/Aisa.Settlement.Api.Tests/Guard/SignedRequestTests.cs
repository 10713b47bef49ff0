using System.Net;
using System.Text.Json;
using Aisa.Settlement.Paywall;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Guard;

/// <summary>
/// Requests a publisher cannot forge: each signed by Cloudflare's own Web Bot Auth implementation (the <c>web-bot-auth</c>
/// 0.1.3 npm package, an independent peer), verified by the running service, on both stores.
/// </summary>
public abstract class SignedRequestTests(string provider) : ServiceTests(provider)
{
    private sealed record Signed(string Signature, string SignatureInput, string KeyId, JsonElement PublicJwk, JsonElement Jwk);

    private static async Task<Signed> SignAsync(string url, JsonElement? jwk = null, long? created = null, long? expires = null, string[]? components = null)
    {
        var input = JsonSerializer.Serialize(new { url, jwk, created, expires, components }, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull });
        var output = JsonDocument.Parse(await NodePeers.RunAsync("web-bot-auth-sign.mjs", input)).RootElement;
        return new Signed(output.GetProperty("signature").GetString()!, output.GetProperty("signatureInput").GetString()!, output.GetProperty("keyId").GetString()!,
            output.GetProperty("publicJwk").Clone(), output.GetProperty("jwk").Clone());
    }

    private static Dictionary<string, string> Headers(Signed signed) => new() { ["Signature"] = signed.Signature, ["Signature-Input"] = signed.SignatureInput };

    private async Task<(Registered Agent, string Domain, JsonElement Jwk)> SigningCrawlerAsync()
    {
        var agent = await Client.RegisterAgentAsync();
        await Client.FundAsync(agent.Id, 1m);
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/", "pay", 0.01m));
        var first = await SignAsync($"https://{domain}/");
        var added = await Client.PostAsync("/api/agent/keys", new { jwk = first.PublicJwk }, AisaClient.Bearer(agent.SessionToken));
        Assert.True(added.Code == 201, added.Raw);
        // The key id the service derives (RFC 7638) is the one Cloudflare's library puts in keyid.
        Assert.Equal(first.KeyId, added.Body.GetProperty("key").GetProperty("keyId").GetString());
        var guard = await Client.SendAsync(HttpMethod.Put, "/api/agent/guard", "{\"requireSignedRequests\": true}", AisaClient.Bearer(agent.SessionToken));
        Assert.Equal(200, guard.Code);
        return (agent, domain, first.Jwk);
    }

    private Task<Reply> VerifyAsync(string domain, string resource, string token, IDictionary<string, string>? headers = null) =>
        Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = resource, crawlerAutoPrice = true }, token, headers);

    private async Task<int> ChargesAsync(Registered agent) =>
        (await Client.SendAsync(HttpMethod.Get, "/api/agent/transactions", headers: AisaClient.Bearer(agent.SessionToken))).Body.GetProperty("transactions")
            .EnumerateArray().Count(t => t.GetProperty("type").GetString() == "charge");

    private static void AssertInvalid(Reply reply, string because)
    {
        Assert.True(reply.Status == HttpStatusCode.PaymentRequired && reply.Error == "invalid_signature", $"{because}: {reply.Code} {reply.Raw}");
        Assert.Null(reply.Header("Crawler-Charged"));
    }

    [Fact]
    public async Task A_request_signed_by_web_bot_auth_is_charged_once_and_its_replay_is_refused()
    {
        var (agent, domain, jwk) = await SigningCrawlerAsync();
        var signed = await SignAsync($"https://{domain}/article/1?page=2", jwk);

        var charged = await VerifyAsync(domain, "/article/1?page=2", agent.CrawlerToken, Headers(signed));
        var replay = await VerifyAsync(domain, "/article/1?page=2", agent.CrawlerToken, Headers(signed));
        var absolute = await VerifyAsync(domain, $"https://{domain}/article/9", agent.CrawlerToken, Headers(await SignAsync($"https://{domain}/article/9", jwk)));

        Assert.True(charged.Status == HttpStatusCode.OK, charged.Raw);
        Assert.Equal("USD 0.01", charged.Header("Crawler-Charged"));
        AssertInvalid(replay, "a replayed nonce");
        Assert.Contains("used before", replay.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, absolute.Status);
        Assert.Equal(2, await ChargesAsync(agent));
    }

    [Fact]
    public async Task An_expired_window_another_path_another_publisher_an_unknown_key_or_no_signature_are_refused()
    {
        var (agent, domain, jwk) = await SigningCrawlerAsync();
        var (otherDomain, otherSession) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(otherSession, new NewRule("/", "pay", 0.01m));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var expired = await VerifyAsync(domain, "/a", agent.CrawlerToken, Headers(await SignAsync($"https://{domain}/a", jwk, now - 700, now - 640)));
        var tooLong = await VerifyAsync(domain, "/a", agent.CrawlerToken, Headers(await SignAsync($"https://{domain}/a", jwk, now, now + 3600)));
        var otherPath = await VerifyAsync(domain, "/b", agent.CrawlerToken, Headers(await SignAsync($"https://{domain}/a", jwk)));
        var otherPublisher = await VerifyAsync(otherDomain, "/a", agent.CrawlerToken, Headers(await SignAsync($"https://{domain}/a", jwk)));
        var foreignAuthority = await VerifyAsync(otherDomain, $"https://{domain}/a", agent.CrawlerToken, Headers(await SignAsync($"https://{domain}/a", jwk)));
        var unknownKey = await VerifyAsync(domain, "/a", agent.CrawlerToken, Headers(await SignAsync($"https://{domain}/a")));
        var authorityOnly = await VerifyAsync(domain, "/a", agent.CrawlerToken, Headers(await SignAsync($"https://{domain}/a", jwk, components: ["@authority"])));
        var unsigned = await VerifyAsync(domain, "/a", agent.CrawlerToken);

        AssertInvalid(expired, "an expired window");
        Assert.Contains("expired", expired.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        AssertInvalid(tooLong, "a window longer than allowed");
        AssertInvalid(otherPath, "a signature for another path");
        AssertInvalid(otherPublisher, "a signature for another publisher");
        AssertInvalid(foreignAuthority, "a resource URL of another publisher's domain");
        AssertInvalid(unknownKey, "a key the crawler did not register");
        AssertInvalid(authorityOnly, "a signature that does not cover @path");
        AssertInvalid(unsigned, "no signature");
        Assert.Equal(0, await ChargesAsync(agent));
    }

    [Fact]
    public async Task A_token_stolen_by_a_publisher_buys_nothing_for_a_crawler_that_requires_signatures()
    {
        var (agent, honestDomain, jwk) = await SigningCrawlerAsync();
        // The crawler visits an honest site, then a thief's: the thief sees its token and a signature made for the thief's own site.
        var (thiefDomain, thiefSession) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(thiefSession, new NewRule("/", "pay", 0.50m));
        var seenByThief = await SignAsync($"https://{thiefDomain}/page", jwk);
        var paidVisit = await VerifyAsync(thiefDomain, "/page", agent.CrawlerToken, Headers(seenByThief));

        var tokenAlone = await Client.VerifyAsync(new { publisherDomain = thiefDomain, resourceUrl = "/other", crawlerMaxPrice = "USD 0.50" }, agent.CrawlerToken);
        var replayed = await VerifyAsync(thiefDomain, "/page", agent.CrawlerToken, Headers(seenByThief));
        var replayedElsewhere = await VerifyAsync(thiefDomain, "/other", agent.CrawlerToken, Headers(seenByThief));
        var honest = await VerifyAsync(honestDomain, "/x", agent.CrawlerToken, Headers(await SignAsync($"https://{honestDomain}/x", jwk)));

        Assert.Equal(HttpStatusCode.OK, paidVisit.Status);
        AssertInvalid(tokenAlone, "the token alone");
        AssertInvalid(replayed, "the visit's own signature replayed");
        AssertInvalid(replayedElsewhere, "the visit's signature on another path");
        Assert.Equal(HttpStatusCode.OK, honest.Status);
        Assert.Equal(0.49m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task Keys_are_listed_deleted_and_a_private_or_malformed_key_is_refused()
    {
        var agent = await Client.RegisterAgentAsync();
        var signed = await SignAsync("https://a.example.com/");

        var withPrivate = await Client.PostAsync("/api/agent/keys", new { jwk = signed.Jwk }, AisaClient.Bearer(agent.SessionToken));
        var malformed = await Client.PostAsync("/api/agent/keys", new { jwk = new { kty = "OKP", crv = "Ed25519", x = "abc" } }, AisaClient.Bearer(agent.SessionToken));
        var added = await Client.PostAsync("/api/agent/keys", new { jwk = signed.PublicJwk }, AisaClient.Bearer(agent.SessionToken));
        var again = await Client.PostAsync("/api/agent/keys", new { jwk = signed.PublicJwk }, AisaClient.Bearer(agent.SessionToken));
        var other = await Client.RegisterAgentAsync();
        var stolen = await Client.PostAsync("/api/agent/keys", new { jwk = signed.PublicJwk }, AisaClient.Bearer(other.SessionToken));
        var listed = await Client.SendAsync(HttpMethod.Get, "/api/agent/keys", headers: AisaClient.Bearer(agent.SessionToken));
        var deleted = await Client.SendAsync(HttpMethod.Delete, $"/api/agent/keys/{signed.KeyId}", headers: AisaClient.Bearer(agent.SessionToken));
        var after = await Client.SendAsync(HttpMethod.Get, "/api/agent/keys", headers: AisaClient.Bearer(agent.SessionToken));

        Assert.Equal(400, withPrivate.Code);
        Assert.Equal("invalid_key", withPrivate.Error);
        Assert.Equal(400, malformed.Code);
        Assert.Equal(201, added.Code);
        Assert.Equal(signed.PublicJwk.GetProperty("x").GetString(), added.Body.GetProperty("key").GetProperty("jwk").GetProperty("x").GetString());
        Assert.Equal(200, again.Code);
        Assert.Equal(409, stolen.Code);
        Assert.Equal(signed.KeyId, Assert.Single(listed.Body.GetProperty("keys").EnumerateArray()).GetProperty("keyId").GetString());
        Assert.Equal(204, deleted.Code);
        Assert.Empty(after.Body.GetProperty("keys").EnumerateArray());
        Assert.DoesNotContain(signed.Jwk.GetProperty("d").GetString()!, listed.Raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Through_the_paywall_a_signed_crawl_is_served_and_the_same_signature_again_is_not()
    {
        var (agent, domain, jwk) = await SigningCrawlerAsync();
        var (site, address) = await LocalSite.StartAsync(
            services => services.AddAisaPaywall(new PaywallOptions { GatewayUrl = Client.Http.BaseAddress!, PublisherDomain = domain }),
            app => app.MapGet("/article/{id}", (string id) => Results.Text($"article {id}")).RequireCrawlerPayment());
        await using var _ = site;
        using var crawler = new HttpClient { BaseAddress = address };
        var signed = await SignAsync($"https://{domain}/article/5", jwk);
        HttpRequestMessage Request()
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/article/5")
            {
                Headers = { { "X-AISA-Crawler-Token", agent.CrawlerToken }, { "crawler-max-price", "USD 0.05" }, { "Signature", signed.Signature }, { "Signature-Input", signed.SignatureInput } },
            };
            // The crawler asked for the publisher's site by its name; the site happens to listen on a loopback port here.
            request.Headers.Host = domain;
            return request;
        }

        using var served = await crawler.SendAsync(Request());
        using var again = await crawler.SendAsync(Request());

        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal("article 5", await served.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.PaymentRequired, again.StatusCode);
        Assert.Contains("invalid_signature", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await ChargesAsync(agent));
    }
}

public sealed class SqliteSignedRequestTests() : SignedRequestTests(StorageOptions.Sqlite);

public sealed class PostgresSignedRequestTests() : SignedRequestTests(StorageOptions.Postgres);
