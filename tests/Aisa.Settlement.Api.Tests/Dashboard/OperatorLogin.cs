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

    /// <summary>The antiforgery token of a page of Hangfire's dashboard: its script sends it as a header with every POST.</summary>
    public static async Task<string> HangfireTokenAsync(HttpClient client, string page)
    {
        var html = await client.GetStringAsync(new Uri(page, UriKind.RelativeOrAbsolute));
        return HangfireToken().Match(html) is { Success: true } match ? WebUtility.HtmlDecode(match.Groups[1].Value) : throw new Xunit.Sdk.XunitException($"{page} has no antiforgery token.");
    }

    /// <summary>A POST as Hangfire's script sends it: the form fields, and the antiforgery token in its header.</summary>
    public static async Task<HttpResponseMessage> PostHangfireAsync(HttpClient client, string path, string? token, params (string Name, string Value)[] fields)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.RelativeOrAbsolute))
        {
            Content = new FormUrlEncodedContent(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value))),
        };
        if (token is not null)
        {
            request.Headers.Add("RequestVerificationToken", token);
        }
        return await client.SendAsync(request);
    }

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();

    [GeneratedRegex("<meta name=\"csrf-token\" content=\"([^\"]+)\"")]
    private static partial Regex HangfireToken();
}
