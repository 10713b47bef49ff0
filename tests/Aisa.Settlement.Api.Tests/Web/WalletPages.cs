using System.Net;
using System.Text.RegularExpressions;
using Aisa.Settlement.Api.Tests.Dashboard;

namespace Aisa.Settlement.Api.Tests.Web;

/// <summary>The agent's wallet driven over HTTP as a browser would (cookies kept, redirects not followed), for tests of a rail's top-up on the page.</summary>
public static partial class WalletPages
{
    /// <summary>Signs up on the page, as a person does; answers the browser and the crawler token the page showed once.</summary>
    public static async Task<(HttpClient Browser, string CrawlerToken, string Email)> SignUpAsync(Uri service, CookieContainer? cookies = null)
    {
        var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = cookies ?? new CookieContainer() })
        {
            BaseAddress = service,
        };
        var email = $"wallet-{Guid.NewGuid():N}@example.com";
        var signedUp = await OperatorLogin.PostFormAsync(browser, "/agent/signup", await OperatorLogin.CsrfAsync(browser, "/agent/signup"),
            ("email", email), ("password", "correct horse"), ("crawlerType", "WalletBot"));
        var page = await signedUp.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, signedUp.StatusCode);
        return (browser, WebUtility.HtmlDecode(CrawlerToken().Match(page).Groups[1].Value), email);
    }

    /// <summary>The wallet's top-up form sent for <paramref name="amount"/> on <paramref name="rail"/>: the answer's status and page.</summary>
    public static async Task<(HttpStatusCode Status, string Page)> TopUpAsync(HttpClient browser, string rail, string amount)
    {
        var response = await OperatorLogin.PostFormAsync(browser, "/agent/topup", await OperatorLogin.CsrfAsync(browser, "/agent/"),
            ("rail", rail), ("amount", amount), ("idempotencyKey", Guid.NewGuid().ToString("N")));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The text of the top-up page's action card of <paramref name="kind"/> (url, invoice, address, endpoint); empty when there is none.</summary>
    public static string PayValue(string page, string kind) =>
        WebUtility.HtmlDecode(Regex.Match(page, $"data-pay=\"{kind}\">.*?class=\"pay-value\">([^<]+)<", RegexOptions.Singleline).Groups[1].Value);

    public static async Task<string> BalanceAsync(HttpClient browser) => Balance().Match(await browser.GetStringAsync(new Uri("/agent/", UriKind.Relative))).Groups[1].Value;

    [GeneratedRegex("id=\"crawler-token\" class=\"secret\">([^<]+)<")]
    public static partial Regex CrawlerToken();

    [GeneratedRegex("id=\"balance\">([^<]+)<")]
    private static partial Regex Balance();
}
