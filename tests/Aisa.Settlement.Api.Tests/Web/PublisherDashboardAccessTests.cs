using System.Net;
using Aisa.Settlement.Api.Tests.Dashboard;
using Aisa.Settlement.Storage;

namespace Aisa.Settlement.Api.Tests.Web;

/// <summary>The publisher's dashboard without a browser: who may see it, and what a form without its antiforgery token changes (nothing).</summary>
public sealed class PublisherDashboardAccessTests() : ServiceTests(StorageOptions.Sqlite)
{
    [Theory]
    [InlineData("/publisher/")]
    [InlineData("/publisher/webhook")]
    [InlineData("/publisher/payouts")]
    public async Task A_page_without_a_session_sends_the_visitor_to_the_login(string path)
    {
        var response = await OperatorLogin.Anonymous(Factory).GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal($"/publisher/login?returnUrl={Uri.EscapeDataString(path)}", response.Headers.Location!.PathAndQuery);
    }

    [Fact]
    public async Task A_form_without_its_antiforgery_token_changes_nothing_and_an_agents_cookie_opens_nothing_here()
    {
        var browser = OperatorLogin.Anonymous(Factory);
        var domain = $"site-{Guid.NewGuid():N}.example.com";
        var signedUp = await OperatorLogin.PostFormAsync(browser, "/publisher/signup", await OperatorLogin.CsrfAsync(browser, "/publisher/signup"),
            ("email", $"editor@{domain}"), ("password", "correct horse"), ("domain", domain));
        Assert.Equal(HttpStatusCode.Redirect, signedUp.StatusCode);

        var forgedSignUp = await OperatorLogin.PostFormAsync(OperatorLogin.Anonymous(Factory), "/publisher/signup", null,
            ("email", "forged@example.com"), ("password", "correct horse"), ("domain", "forged.example.com"));
        var addRule = await OperatorLogin.PostFormAsync(browser, "/publisher/rules", null, ("urlPattern", "/"), ("accessMode", "pay"), ("price", "1"));
        var webhook = await OperatorLogin.PostFormAsync(browser, "/publisher/webhook", null, ("url", "https://example.com/hook"));
        var payoutRail = await OperatorLogin.PostFormAsync(browser, "/publisher/payouts/settings", null, ("rail", "sandbox"), ("destination", "anywhere"));
        var domainCheck = await OperatorLogin.PostFormAsync(browser, "/publisher/domain/check", null);
        var logout = await OperatorLogin.PostFormAsync(browser, "/publisher/logout", null);

        Assert.All(new[] { forgedSignUp, addRule, webhook, payoutRail, domainCheck, logout }, r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode));
        Assert.Equal(401, (await Client.Publishers.LoginAsync("forged@example.com", "correct horse")).Status);
        var session = (await Client.Publishers.LoginAsync($"editor@{domain}", "correct horse")).Required.Token;
        Assert.Empty((await Client.Publishers.RulesAsync(session)).Required);
        Assert.Equal(404, (await Client.SendAsync(HttpMethod.Get, "/api/publisher/payout-settings", headers: AisaClient.Bearer(session))).Code);
        Assert.Contains("No webhook is set.", await browser.GetStringAsync(new Uri("/publisher/webhook", UriKind.Relative)), StringComparison.Ordinal);

        // The same browser's publisher cookie is no agent's: the wallet sends it to the wallet's login.
        var wallet = await browser.GetAsync(new Uri("/agent/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Redirect, wallet.StatusCode);
        Assert.StartsWith("/agent/login", wallet.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
    }
}
