using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Aisa.Settlement.Api.Configuration;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace Aisa.Settlement.Api.Dashboard;

/// <summary>
/// The dashboard's login: the operator key, exchanged once for an HTTP-only, SameSite=Strict cookie (8 h, sliding).
/// Every page and JSON endpoint requires it; every action is a POST carrying an antiforgery token.
/// </summary>
public static class DashboardAuth
{
    public const string Scheme = "aisa-operator";
    public const string Policy = "operator";
    public const string CsrfField = "__csrf";

    public static IServiceCollection AddDashboardAuth(this IServiceCollection services)
    {
        // The keys that sign the login cookie and the antiforgery tokens live in the database: every instance accepts what
        // another made, and a restart logs nobody out. The application name, not the install path, makes them one ring.
        services.AddSingleton<Storage.Security.DataProtectionKeyStore>();
        services.AddDataProtection().SetApplicationName("Aisa.Settlement");
        services.AddOptions<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>()
            .Configure<Storage.Security.DataProtectionKeyStore>((options, keys) => options.XmlRepository = keys);
        services.AddAuthentication().AddCookie(Scheme, options =>
        {
            options.Cookie.Name = "aisa_operator";
            options.Cookie.Path = "/dashboard";
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.ExpireTimeSpan = TimeSpan.FromHours(8);
            options.SlidingExpiration = true;
            options.LoginPath = "/dashboard/login";
            options.Events.OnRedirectToLogin = context =>
            {
                // A script asking for JSON gets 401, not a login page it cannot read.
                if (context.Request.Path.StartsWithSegments("/dashboard/api"))
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                }
                else
                {
                    context.Response.Redirect(context.RedirectUri);
                }
                return Task.CompletedTask;
            };
        });
        services.AddAuthorizationBuilder().AddPolicy(Policy, policy => policy.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser().RequireRole("operator"));
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "aisa_csrf";
            // One token cookie for the console, the agent's wallet and the publisher's dashboard (the forms of all three).
            options.Cookie.Path = "/";
            options.Cookie.SameSite = SameSiteMode.Strict;
            // Secure whenever the operator's own request was HTTPS (behind a configured proxy, as it forwarded it).
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.FormFieldName = CsrfField;
        });
        return services;
    }

    /// <summary>The operator key, compared as digests in constant time: neither its content nor its length leaks.</summary>
    public static bool IsOperatorKey(string? configured, string? sent) =>
        !string.IsNullOrEmpty(configured)
        && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(sent ?? "")), SHA256.HashData(Encoding.UTF8.GetBytes(configured)));

    public static IEndpointRouteBuilder MapDashboardLogin(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/dashboard").ExcludeFromDescription();
        group.MapGet("/login", (HttpContext context, IAntiforgery antiforgery, IOptions<OperatorOptions> options) =>
            LoginPage(antiforgery.GetAndStoreTokens(context).RequestToken!, context.Request.Query["ReturnUrl"].ToString(),
                string.IsNullOrEmpty(options.Value.ApiKey) ? "Set Operator:ApiKey to enable the dashboard." : null));
        // The same limit per address as the agents' and publishers' logins: guessing the key is slow.
        group.MapPost("/login", LoginAsync).RequireRateLimiting(Http.RateLimits.AuthPolicy);
        group.MapPost("/logout", async (HttpContext context, IAntiforgery antiforgery) =>
        {
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return CsrfRefused();
            }
            await context.SignOutAsync(Scheme);
            return Results.Redirect("/dashboard/login");
        });
        group.MapGet("/assets/{name}", (string name) => Asset(name));
        return endpoints;
    }

    private static async Task<IResult> LoginAsync(HttpContext context, IAntiforgery antiforgery, IOptions<OperatorOptions> options, ILogger<DashboardLogin> logger)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return CsrfRefused();
        }
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        if (!IsOperatorKey(options.Value.ApiKey, form["key"]))
        {
            logger.LogWarning("Dashboard login refused from {Address}.", context.Connection.RemoteIpAddress);
            return LoginPage(antiforgery.GetAndStoreTokens(context).RequestToken!, form["returnUrl"].ToString(), "That is not the operator key.", StatusCodes.Status401Unauthorized);
        }
        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "operator"), new Claim(ClaimTypes.Role, "operator")], Scheme));
        await context.SignInAsync(Scheme, principal);
        logger.LogInformation("Dashboard login from {Address}.", context.Connection.RemoteIpAddress);
        return Results.Redirect(LocalDashboardPath(form["returnUrl"].ToString()));
    }

    public static IResult CsrfRefused() => Html.Document("Refused",
        "<main><div class=\"error\">This form expired or did not come from this dashboard (its antiforgery token is missing or wrong): nothing was done. Go back, reload and try again.</div></main>",
        StatusCodes.Status400BadRequest);

    /// <summary>Where to go after logging in: a dashboard path of this site, never another site.</summary>
    public static string LocalDashboardPath(string? returnUrl) =>
        returnUrl is { } path && (path == "/dashboard" || path.StartsWith("/dashboard/", StringComparison.Ordinal) || path.StartsWith("/dashboard?", StringComparison.Ordinal))
            && !path.Contains('\\', StringComparison.Ordinal) && Uri.IsWellFormedUriString(path, UriKind.Relative)
            ? path
            : "/dashboard";

    private static IResult LoginPage(string csrf, string? returnUrl, string? error, int status = 200) => Html.Document("Log in", $"""
        <form class="login" method="post" action="/dashboard/login">
          <h1>AISA operator</h1>
          {(error is null ? "" : $"<div class=\"error\">{Html.E(error)}</div>")}
          {Html.CsrfField(csrf)}
          <input type="hidden" name="returnUrl" value="{Html.E(LocalDashboardPath(returnUrl))}">
          <label for="key">Operator key</label>
          <input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
          <button class="primary" type="submit">Log in</button>
        </form>
        """, status);

    private static IResult Asset(string name)
    {
        var type = name switch
        {
            "dashboard.css" => "text/css; charset=utf-8",
            "dashboard.js" or "wallet.js" => "text/javascript; charset=utf-8",
            _ => null,
        };
        var stream = type is null ? null : typeof(DashboardAuth).Assembly.GetManifestResourceStream($"Aisa.Settlement.Api.Dashboard.Assets.{name}");
        return stream is null ? Results.NotFound() : Results.Stream(stream, type);
    }
}

/// <summary>The log category of dashboard logins.</summary>
public sealed class DashboardLogin;
