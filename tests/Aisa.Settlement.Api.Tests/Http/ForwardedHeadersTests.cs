using System.Net;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Http;

/// <summary>Behind a TLS-terminating proxy: the URLs the service hands out and the client address it rate-limits by.</summary>
public sealed class ForwardedHeadersTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }
    }

    private static readonly Dictionary<string, string> FromTheProxy = new()
    {
        ["X-Forwarded-Proto"] = "https",
        ["X-Forwarded-Host"] = "pay.example.com",
        ["X-Forwarded-For"] = "203.0.113.7",
    };

    private async Task<AisaClient> StartAsync(Dictionary<string, string> settings)
    {
        var store = await TestStore.CreateAsync(StorageOptions.Sqlite);
        _owned.Add(store);
        var factory = new SettlementFactory(store, settings);
        _owned.Add(factory);
        return new AisaClient(factory.CreateClient());
    }

    /// <summary>The payment link of a 402 for an unfunded crawler, asked through the proxy's headers.</summary>
    private static async Task<string> PaymentLinkAsync(AisaClient client)
    {
        var agent = await client.RegisterAgentAsync();
        var (domain, session) = await client.RegisterPublisherAsync();
        await client.CreateRuleAsync(session, new NewRule("/", "pay", 0.01m));
        var reply = await client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/a", crawlerAutoPrice = true }, agent.CrawlerToken, FromTheProxy);
        Assert.Equal(HttpStatusCode.PaymentRequired, reply.Status);
        var link = reply.Header("Link")!;
        Assert.Equal(link, $"<{reply.Body.GetProperty("offer").GetProperty("paymentUrl").GetString()}>; rel=\"payment\"; type=\"aisa-wallet\"");
        return link;
    }

    [Fact]
    public async Task Behind_a_configured_proxy_the_payment_link_is_the_one_the_client_used()
    {
        var client = await StartAsync(new() { ["ForwardedHeaders:KnownProxies:0"] = "127.0.0.1" });

        Assert.Equal("<https://pay.example.com/api/agent/topup/create-session>; rel=\"payment\"; type=\"aisa-wallet\"", await PaymentLinkAsync(client));
    }

    [Fact]
    public async Task Forwarded_headers_from_an_address_that_is_not_a_configured_proxy_are_ignored()
    {
        var client = await StartAsync(new() { ["ForwardedHeaders:KnownProxies:0"] = "192.0.2.1" });

        Assert.StartsWith("<http://127.0.0.1:", await PaymentLinkAsync(client), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configured_public_url_builds_every_url_the_service_hands_out()
    {
        var client = await StartAsync(new() { ["Platform:PublicUrl"] = "https://gateway.example.org/", ["ForwardedHeaders:KnownProxies:0"] = "127.0.0.1" });

        Assert.Equal("<https://gateway.example.org/api/agent/topup/create-session>; rel=\"payment\"; type=\"aisa-wallet\"", await PaymentLinkAsync(client));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_rate_limit_counts_each_client_behind_a_configured_proxy_and_a_forged_header_escapes_nothing(bool behindProxy)
    {
        var settings = new Dictionary<string, string> { ["RateLimits:AuthPerMinute"] = "2" };
        if (behindProxy)
        {
            settings["ForwardedHeaders:KnownProxies:0"] = "127.0.0.1";
        }
        var client = await StartAsync(settings);
        async Task<HttpStatusCode> LoginFromAsync(string address) =>
            (await client.PostAsync("/api/agent/auth/login", new { email = "x@example.com", password = "whatever1" }, new Dictionary<string, string> { ["X-Forwarded-For"] = address })).Status;

        var first = new[] { await LoginFromAsync("198.51.100.1"), await LoginFromAsync("198.51.100.1"), await LoginFromAsync("198.51.100.1") };
        var other = await LoginFromAsync("198.51.100.2");

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests], first);
        // Behind the proxy another client has its own allowance; without one, the header names nobody and changes nothing.
        Assert.Equal(behindProxy ? HttpStatusCode.Unauthorized : HttpStatusCode.TooManyRequests, other);
    }
}
