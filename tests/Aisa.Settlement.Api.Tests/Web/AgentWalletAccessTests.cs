using System.Net;
using System.Text.RegularExpressions;
using Aisa.Settlement.Api.Tests.Dashboard;
using Aisa.Settlement.Client;
using Aisa.Settlement.Storage;

namespace Aisa.Settlement.Api.Tests.Web;

/// <summary>
/// The agent's wallet pages without a browser (cookies kept, redirects not followed): who may see them, what a form without
/// its antiforgery token changes (nothing), and that the pages' login is the API's session.
/// </summary>
public sealed partial class AgentWalletAccessTests() : ServiceTests(StorageOptions.Sqlite)
{
    protected override string Environment => "Development";

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Rails:Sandbox:Enabled"] = "true",
        ["Notifications:AllowPrivateNetworks"] = "true",
    };

    private Task<(HttpClient Browser, string CrawlerToken, string Email)> SignUpAsync(CookieContainer? cookies = null) => WalletPages.SignUpAsync(Factory.Url, cookies);

    [GeneratedRegex("id=\"webhook-secret\" class=\"secret\">([^<]+)<")]
    private static partial Regex WebhookSecret();

    private static Task<string> BalanceOnPageAsync(HttpClient browser) => WalletPages.BalanceAsync(browser);

    [Theory]
    [InlineData("/agent/")]
    [InlineData("/agent/wallet.html")]
    [InlineData("/agent/guard")]
    [InlineData("/agent/webhook")]
    public async Task A_page_without_a_session_sends_the_visitor_to_the_login(string path)
    {
        var response = await OperatorLogin.Anonymous(Factory).GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal($"/agent/login?returnUrl={Uri.EscapeDataString(path)}", response.Headers.Location!.PathAndQuery);
    }

    [Fact]
    public async Task Signing_up_on_the_page_makes_an_agent_of_the_api_whose_token_the_page_shows_once_and_whose_wallet_the_page_shows()
    {
        var (browser, crawlerToken, email) = await SignUpAsync();

        Assert.StartsWith("aisa_", crawlerToken, StringComparison.Ordinal);
        var wallet = await browser.GetStringAsync(new Uri("/agent/wallet.html", UriKind.Relative));
        Assert.Contains("id=\"balance\">0.000000<", wallet, StringComparison.Ordinal);
        Assert.DoesNotContain(crawlerToken, wallet, StringComparison.Ordinal);
        // The same account through the API: its login works with the page's password, and its crawler token verifies.
        var login = await Client.Agents.LoginAsync(email, "correct horse");
        Assert.Equal(200, login.Status);
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/", "free"));
        var verify = await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/a", crawlerAutoPrice = true }, crawlerToken);
        Assert.Equal(HttpStatusCode.OK, verify.Status);
    }

    [Fact]
    public async Task A_form_without_its_antiforgery_token_changes_nothing()
    {
        var (browser, crawlerToken, _) = await SignUpAsync();
        var email = $"forged-{Guid.NewGuid():N}@example.com";

        var signUp = await OperatorLogin.PostFormAsync(OperatorLogin.Anonymous(Factory), "/agent/signup", null, ("email", email), ("password", "correct horse"));
        var topUp = await OperatorLogin.PostFormAsync(browser, "/agent/topup", null, ("amount", "5.00"), ("rail", "sandbox"), ("idempotencyKey", "a1"));
        var rotate = await OperatorLogin.PostFormAsync(browser, "/agent/token/rotate", null);
        var wrongToken = await OperatorLogin.PostFormAsync(browser, "/agent/topup", "not-a-token", ("amount", "5.00"), ("rail", "sandbox"));
        var logout = await OperatorLogin.PostFormAsync(browser, "/agent/logout", null);
        var guard = await OperatorLogin.PostFormAsync(browser, "/agent/guard", null, ("dailyBudget", "1.00"));
        var approve = await OperatorLogin.PostFormAsync(browser, "/agent/approvals/apr_1/approve", null);
        var webhook = await OperatorLogin.PostFormAsync(browser, "/agent/webhook", null, ("url", "https://example.com/hook"));
        var login = await OperatorLogin.PostFormAsync(OperatorLogin.Anonymous(Factory), "/agent/login", null, ("email", email), ("password", "correct horse"));

        Assert.All(new[] { signUp, topUp, rotate, wrongToken, logout, guard, approve, webhook, login }, r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode));
        Assert.Contains("No webhook is set.", await browser.GetStringAsync(new Uri("/agent/webhook", UriKind.Relative)), StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"dailyBudget\" inputmode=\"decimal\" value=\"1", await browser.GetStringAsync(new Uri("/agent/guard", UriKind.Relative)), StringComparison.Ordinal);
        Assert.Equal(401, (await Client.Agents.LoginAsync(email, "correct horse")).Status);
        Assert.Equal("0.000000", await BalanceOnPageAsync(browser));
        var (domain, session) = await Client.RegisterPublisherAsync();
        await Client.CreateRuleAsync(session, new NewRule("/", "free"));
        Assert.Equal(HttpStatusCode.OK, (await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/a", crawlerAutoPrice = true }, crawlerToken)).Status);
    }

    [Fact]
    public async Task A_top_up_form_sent_twice_tops_up_once()
    {
        var (browser, _, _) = await SignUpAsync();
        var csrf = await OperatorLogin.CsrfAsync(browser, "/agent/");
        var key = Guid.NewGuid().ToString("N");

        var first = await OperatorLogin.PostFormAsync(browser, "/agent/topup", csrf, ("amount", "5.00"), ("rail", "sandbox"), ("idempotencyKey", key));
        var again = await OperatorLogin.PostFormAsync(browser, "/agent/topup", csrf, ("amount", "5.00"), ("rail", "sandbox"), ("idempotencyKey", key));
        var tooSmall = await OperatorLogin.PostFormAsync(browser, "/agent/topup", csrf, ("amount", "0.01"), ("rail", "sandbox"), ("idempotencyKey", Guid.NewGuid().ToString("N")));
        var notANumber = await OperatorLogin.PostFormAsync(browser, "/agent/topup", csrf, ("amount", "five"), ("rail", "sandbox"));
        var noSuchRail = await OperatorLogin.PostFormAsync(browser, "/agent/topup", csrf, ("amount", "5.00"), ("rail", "nowhere"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Contains("credited", await first.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, tooSmall.StatusCode);
        Assert.Contains("amount is a USD amount from 0.5", await tooSmall.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, notANumber.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noSuchRail.StatusCode);
        Assert.Contains("not enabled here", await noSuchRail.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("5.000000", await BalanceOnPageAsync(browser));
        var audit = await Client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    [Fact]
    public async Task Logging_out_ends_the_session_itself_not_only_the_cookie()
    {
        var cookies = new CookieContainer();
        var (browser, _, _) = await SignUpAsync(cookies);
        var kept = cookies.GetCookieHeader(new Uri(Factory.Url, "/agent/"));
        using var replay = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = Factory.Url };
        Task<HttpResponseMessage> ReplayAsync()
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/agent/");
            request.Headers.Add("Cookie", kept);
            return replay.SendAsync(request);
        }
        Assert.Contains("aisa_agent=", kept, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await ReplayAsync()).StatusCode);

        var logout = await OperatorLogin.PostFormAsync(browser, "/agent/logout", await OperatorLogin.CsrfAsync(browser, "/agent/"));
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);

        // The cookie kept from before the logout, sent again, opens nothing: the session it carries was ended in the store.
        var response = await ReplayAsync();
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/agent/login", response.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_live_json_answers_the_balance_to_its_session_and_401_not_a_login_page_without_one()
    {
        var (browser, _, _) = await SignUpAsync();
        static HttpRequestMessage Live() => new(HttpMethod.Get, "/agent/live") { Headers = { { "Accept", "application/json" } } };

        var signedIn = await browser.SendAsync(Live());
        var anonymous = await OperatorLogin.Anonymous(Factory).SendAsync(Live());
        var pageAnonymous = await OperatorLogin.Anonymous(Factory).GetAsync(new Uri("/agent/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Redirect, (await OperatorLogin.PostFormAsync(browser, "/agent/logout", await OperatorLogin.CsrfAsync(browser, "/agent/"))).StatusCode);
        var afterLogout = await browser.SendAsync(Live());

        Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        Assert.Equal("0.000000", System.Text.Json.JsonDocument.Parse(await signedIn.Content.ReadAsStringAsync()).RootElement.GetProperty("balance").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, afterLogout.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, pageAnonymous.StatusCode);
    }

    [Fact]
    public async Task The_webhook_page_sets_the_url_shows_the_secret_once_lists_deliveries_and_redelivers_one()
    {
        await using var receiver = await Notifications.WebhookReceiver.StartAsync();
        var (browser, _, _) = await SignUpAsync();

        var refused = await OperatorLogin.PostFormAsync(browser, "/agent/webhook", await OperatorLogin.CsrfAsync(browser, "/agent/webhook"), ("url", "ftp://example.com/hook"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("url is https.", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var set = await OperatorLogin.PostFormAsync(browser, "/agent/webhook", await OperatorLogin.CsrfAsync(browser, "/agent/webhook"), ("url", receiver.Url.ToString()));
        var secret = WebUtility.HtmlDecode(WebhookSecret().Match(await set.Content.ReadAsStringAsync()).Groups[1].Value);
        Assert.StartsWith("aisa_whsec_", secret, StringComparison.Ordinal);
        var page = await browser.GetStringAsync(new Uri("/agent/webhook", UriKind.Relative));
        Assert.DoesNotContain(secret, page, StringComparison.Ordinal);
        Assert.Contains(receiver.Url.ToString(), page, StringComparison.Ordinal);

        // A top-up on the page: deposit.credited is delivered, signed with the secret the page showed.
        await OperatorLogin.PostFormAsync(browser, "/agent/topup", await OperatorLogin.CsrfAsync(browser, "/agent/"), ("amount", "5.00"), ("rail", "sandbox"), ("idempotencyKey", "w1"));
        var first = await receiver.WaitForAsync(r => r.Any(a => a.Event == "deposit.credited"), "deposit.credited");
        Assert.True(Notifications.WebhookReceiver.SignatureHolds(first.First(a => a.Event == "deposit.credited"), secret));
        var deliveryId = Regex.Match(await WaitForPageAsync(browser, "delivered"), "data-delivery=\"(\\d+)\"").Groups[1].Value;

        var redeliver = await OperatorLogin.PostFormAsync(browser, $"/agent/webhook/deliveries/{deliveryId}/redeliver", await OperatorLogin.CsrfAsync(browser, "/agent/webhook"));
        Assert.Equal(HttpStatusCode.Redirect, redeliver.StatusCode);
        var again = await receiver.WaitForAsync(r => r.Count(a => a.Event == "deposit.credited") >= 2, "the redelivery");
        Assert.All(again.Where(a => a.Event == "deposit.credited"), a => Assert.True(Notifications.WebhookReceiver.SignatureHolds(a, secret)));
        var notMine = await OperatorLogin.PostFormAsync(browser, "/agent/webhook/deliveries/999999/redeliver", await OperatorLogin.CsrfAsync(browser, "/agent/webhook"));
        Assert.Equal(HttpStatusCode.NotFound, notMine.StatusCode);

        var removed = await OperatorLogin.PostFormAsync(browser, "/agent/webhook/remove", await OperatorLogin.CsrfAsync(browser, "/agent/webhook"));
        Assert.Equal(HttpStatusCode.Redirect, removed.StatusCode);
        Assert.Contains("No webhook is set.", await browser.GetStringAsync(new Uri("/agent/webhook", UriKind.Relative)), StringComparison.Ordinal);
    }

    /// <summary>The webhook page once a delivery on it is in <paramref name="state"/> (the sender works in the background).</summary>
    private static async Task<string> WaitForPageAsync(HttpClient browser, string state)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var page = await browser.GetStringAsync(new Uri("/agent/webhook", UriKind.Relative));
            if (page.Contains($"<td class=\"state\">{state}</td>", StringComparison.Ordinal))
            {
                return page;
            }
            Assert.True(DateTime.UtcNow < deadline, $"No delivery was {state} within 60 s.");
            await Task.Delay(200);
        }
    }

    [Theory]
    [InlineData("/agent/?before=1", "/agent/?before=1")]
    [InlineData("https://evil.example/agent/", "/agent/")]
    [InlineData("//evil.example/agent/", "/agent/")]
    [InlineData("/dashboard", "/agent/")]
    public async Task Logging_in_returns_to_a_page_of_the_wallet_only(string returnUrl, string expected)
    {
        var (_, _, email) = await SignUpAsync();
        var browser = OperatorLogin.Anonymous(Factory);

        var wrong = await OperatorLogin.PostFormAsync(browser, "/agent/login", await OperatorLogin.CsrfAsync(browser, "/agent/login"),
            ("email", email), ("password", "wrong horse"), ("returnUrl", returnUrl));
        var right = await OperatorLogin.PostFormAsync(browser, "/agent/login", await OperatorLogin.CsrfAsync(browser, "/agent/login"),
            ("email", email), ("password", "correct horse"), ("returnUrl", returnUrl));

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("The email or the password is wrong.", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
        Assert.Equal(expected, right.Headers.Location!.OriginalString);
    }
}
