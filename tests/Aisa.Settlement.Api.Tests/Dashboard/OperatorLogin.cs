using System.Net;
using System.Text.RegularExpressions;

namespace Aisa.Settlement.Api.Tests.Dashboard;

/// <summary>An operator's browser without a browser: cookies kept, redirects not followed, forms sent with their antiforgery token.</summary>
public static partial class OperatorLogin
{
    public static HttpClient Anonymous(SettlementFactory factory) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() }) { BaseAddress = factory.Url };

    public static async Task<HttpClient> LoggedInAsync(SettlementFactory factory)
    {
        var client = Anonymous(factory);
        var response = await PostFormAsync(client, "/dashboard/login", await CsrfAsync(client, "/dashboard/login"), ("key", SettlementFactory.OperatorKey));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/dashboard", response.Headers.Location?.ToString());
        return client;
    }

    /// <summary>The antiforgery token of the forms on a page.</summary>
    public static async Task<string> CsrfAsync(HttpClient client, string page)
    {
        var html = await client.GetStringAsync(new Uri(page, UriKind.RelativeOrAbsolute));
        return CsrfField().Match(html) is { Success: true } match ? WebUtility.HtmlDecode(match.Groups[1].Value) : throw new Xunit.Sdk.XunitException($"{page} has no antiforgery field.");
    }

    public static async Task<HttpResponseMessage> PostFormAsync(HttpClient client, string path, string? csrf, params (string Name, string Value)[] fields)
    {
        var all = fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)).ToList();
        if (csrf is not null)
        {
            all.Add(new("__csrf", csrf));
        }
        return await client.PostAsync(new Uri(path, UriKind.RelativeOrAbsolute), new FormUrlEncodedContent(all));
    }

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();
}
