using System.Globalization;
using System.Net;
using System.Text;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Api.Dashboard;

/// <summary>The dashboard's HTML: one layout, and every value that comes from data encoded on the way out.</summary>
public static class Html
{
    /// <summary>The antiforgery token the page's forms carry (and the cookie that goes with it, stored on the response).</summary>
    public static string Csrf(HttpContext context) =>
        context.RequestServices.GetRequiredService<Microsoft.AspNetCore.Antiforgery.IAntiforgery>().GetAndStoreTokens(context).RequestToken!;

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string E(object? value) => WebUtility.HtmlEncode(value switch
    {
        null => "",
        DateTimeOffset at => Time(at),
        Micros micros => micros.ToBalanceString(),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    }) ?? "";

    /// <summary>A page of the dashboard; <paramref name="csrf"/> is the token the log-out form (and every other form) sends.</summary>
    public static IResult Page(string title, string active, string csrf, string body, int status = 200)
    {
        var nav = new StringBuilder();
        foreach (var (path, name) in new[] { ("/dashboard", "Overview"), ("/dashboard/deposits", "Deposits"), ("/dashboard/payouts", "Payouts"), ("/dashboard/crawlers", "Crawlers"), ("/dashboard/webhooks", "Webhooks"), ("/dashboard/jobs", "Jobs"), ("/dashboard/jobs/confirmations", "Confirmations"), ("/dashboard/ledger", "Ledger") })
        {
            nav.Append(CultureInfo.InvariantCulture, $"<a href=\"{path}\"{(name == active ? " class=\"active\"" : "")}>{name}</a>");
        }
        return Document(title, $"""
            <header><strong>AISA operator</strong>{nav}
            <form class="inline" method="post" action="/dashboard/logout">{CsrfField(csrf)}<button type="submit">Log out</button></form></header>
            <main><h1>{E(title)}</h1>{body}</main>
            """, status);
    }

    /// <param name="script">The page's live parts: one of the assets (the console's, or the wallet's).</param>
    public static IResult Document(string title, string body, int status = 200, string app = "AISA operator", string script = "dashboard.js") => Results.Content($"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{E(title)} · {E(app)}</title><link rel="stylesheet" href="/dashboard/assets/dashboard.css"></head>
        <body>{body}<script src="/dashboard/assets/{script}" defer></script></body></html>
        """, "text/html; charset=utf-8", Encoding.UTF8, status);

    public static string CsrfField(string token) => $"<input type=\"hidden\" name=\"{DashboardAuth.CsrfField}\" value=\"{E(token)}\">";

    public static string Table(IEnumerable<string> headers, IEnumerable<string> rows, string attributes = "") =>
        $"<table {attributes}><thead><tr>{string.Concat(headers.Select(h => $"<th>{E(h)}</th>"))}</tr></thead><tbody>{string.Concat(rows)}</tbody></table>";

    public static string Ago(DateTimeOffset? at, DateTimeOffset now) => at is not { } when ? "never" : (now - when) switch
    {
        var d when d.TotalSeconds < 90 => $"{d.TotalSeconds:0} s ago",
        var d when d.TotalMinutes < 90 => $"{d.TotalMinutes:0} min ago",
        var d => $"{d.TotalHours:0.#} h ago",
    };
}
