using System.Globalization;
using System.Text;
using System.Text.Json;
using Aisa.Settlement.Api.Dashboard;
using Aisa.Settlement.Storage.Idempotency;
using Microsoft.AspNetCore.Antiforgery;
using static Aisa.Settlement.Api.Dashboard.Html;

namespace Aisa.Settlement.Api.Web;

/// <summary>The layout of the agent's wallet and the publisher's dashboard: the console's stylesheet, their own navigation.</summary>
public static class WebPage
{
    public static IResult Render(string app, string home, IEnumerable<(string Path, string Name)> nav, string active, string who, string csrf, string title, string body, int status = 200)
    {
        var links = new StringBuilder();
        foreach (var (path, name) in nav)
        {
            links.Append(CultureInfo.InvariantCulture, $"<a href=\"{E(path)}\"{(name == active ? " class=\"active\"" : "")}>{E(name)}</a>");
        }
        return Document(title, $"""
            <header><strong>{E(app)}</strong>{links}<span class="muted-light" id="who">{E(who)}</span>
            <form class="inline" method="post" action="{E(home)}logout">{CsrfField(csrf)}<button type="submit">Log out</button></form></header>
            <main><h1>{E(title)}</h1>{body}</main>
            """, status, app, "wallet.js");
    }

    /// <summary>A page of an app nobody is logged in to (its login and sign-up).</summary>
    public static IResult Plain(string app, string title, string body, int status = 200) =>
        Document(title, $"<main class=\"narrow\">{body}</main>", status, app, "wallet.js");

    public static string Csrf(HttpContext context) =>
        context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context).RequestToken!;

    public static async Task<bool> CsrfValidAsync(HttpContext context) =>
        await context.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(context);

    public static string Notice(string? text, string css = "notice") => text is null ? "" : $"<div class=\"{css}\">{E(text)}</div>";

    public static string Text(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind != JsonValueKind.Null ? value.ToString() : "";

    /// <summary>An amount of the API's answer (a number of dollars) as the page shows money: at least cents, at most micros.</summary>
    public static string Usd(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDecimal().ToString("0.00####", CultureInfo.InvariantCulture) : "";

    public static string At(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String && value.TryGetDateTimeOffset(out var at) ? Time(at) : "";

    /// <summary>Where to go after logging in: a path of this app, never another site.</summary>
    public static string LocalPath(string home, string? returnUrl) =>
        returnUrl is { } path && path.StartsWith(home, StringComparison.Ordinal) && !path.StartsWith("//", StringComparison.Ordinal)
            && !path.Contains('\\', StringComparison.Ordinal) && Uri.IsWellFormedUriString(path, UriKind.Relative)
            ? path
            : home;
}

/// <summary>
/// The public API's answer to a page's request, read back: the pages move money and change settings only through the
/// API's own code, and show what it answered — its values, or its error message.
/// </summary>
public readonly record struct ApiAnswer(int Status, JsonElement Body)
{
    public static ApiAnswer Of(StoredResponse response)
    {
        using var document = JsonDocument.Parse(response.Body);
        return new ApiAnswer(response.StatusCode, document.RootElement.Clone());
    }

    public bool Ok => Status is >= 200 and < 300;

    public string? Error => Ok ? null : Body.TryGetProperty("message", out var message) ? message.GetString() : $"The request was refused ({Status}).";

    public string Text(string property) => Body.TryGetProperty(property, out var value) && value.ValueKind != JsonValueKind.Null ? value.ToString() : "";
}
