using Aisa.Settlement.Testing;
using System.Net;
using Aisa.Settlement.Paywall;
using Aisa.Settlement.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Paywall;

/// <summary>A publisher's own site, a separate web app on its own port, puts the paywall filter in front of a route.</summary>
public sealed class PaywallTests() : ServiceTests(StorageOptions.Sqlite)
{
    private async Task<(WebApplication Site, HttpClient Crawler)> StartPublisherSiteAsync(string domain, Uri gateway)
    {
        var (site, address) = await LocalSite.StartAsync(
            services => services.AddAisaPaywall(new PaywallOptions { GatewayUrl = gateway, PublisherDomain = domain }),
            app =>
            {
                app.MapGet("/article/{id}", (string id) => Results.Text($"the text of article {id}")).RequireCrawlerPayment();
                app.MapGet("/about", () => Results.Text("about us"));
            });
        return (site, new HttpClient { BaseAddress = address });
    }

    [Fact]
    public async Task A_guarded_route_answers_402_with_the_price_then_serves_a_crawler_that_pays()
    {
        var agent = await Client.RegisterAgentAsync("GPTBot");
        await Client.FundAsync(agent.Id, 1m);
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/article/", "pay", 0.02m));
        var (site, crawler) = await StartPublisherSiteAsync(domain, Client.Http.BaseAddress!);
        await using var _ = site;
        using var __ = crawler;

        using var anonymous = await crawler.GetAsync(new Uri("/article/7", UriKind.Relative));
        using var unpaid = await crawler.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/article/7") { Headers = { { "X-AISA-Crawler-Token", agent.CrawlerToken } } });
        var price = unpaid.Headers.GetValues("Crawler-Price").Single();
        using var paid = await crawler.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/article/7")
        {
            Headers = { { "X-AISA-Crawler-Token", agent.CrawlerToken }, { "crawler-exact-price", price } },
        });
        using var unguarded = await crawler.GetAsync(new Uri("/about", UriKind.Relative));

        Assert.Equal(HttpStatusCode.PaymentRequired, anonymous.StatusCode);
        Assert.Contains("invalid_token", await anonymous.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.PaymentRequired, unpaid.StatusCode);
        Assert.Equal("USD 0.02", price);
        Assert.Equal("aisa-wallet", unpaid.Headers.GetValues("Crawler-Price-Rail").Single());
        Assert.Contains("\"offer\"", await unpaid.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        Assert.Equal("the text of article 7", await paid.Content.ReadAsStringAsync());
        Assert.Equal("USD 0.02", paid.Headers.GetValues("Crawler-Charged").Single());
        Assert.Equal(HttpStatusCode.OK, unguarded.StatusCode);
        Assert.Equal(0.98m, await Client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task Without_the_gateway_the_guarded_route_fails_closed_with_502()
    {
        var (site, crawler) = await StartPublisherSiteAsync("news.example.com", new Uri("http://127.0.0.1:1/"));
        await using var _ = site;
        using var __ = crawler;

        using var reply = await crawler.GetAsync(new Uri("/article/1", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadGateway, reply.StatusCode);
        Assert.Contains("payment_gateway_unavailable", await reply.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
