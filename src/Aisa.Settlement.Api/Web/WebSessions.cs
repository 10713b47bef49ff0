using System.Globalization;
using System.Security.Claims;
using Aisa.Settlement.Identity;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Publishers;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Aisa.Settlement.Api.Web;

/// <summary>
/// The logins of the agent's wallet (<c>/agent</c>) and the publisher's dashboard (<c>/publisher</c>): the API's own session
/// token, kept in an HTTP-only cookie sealed by Data Protection (the database key ring: any instance opens it), and checked
/// against the session store on every request, so a logout, an expiry or a disabled agent ends it as it ends the API's.
/// </summary>
public static class WebSessions
{
    public const string AgentScheme = "aisa-agent";
    public const string PublisherScheme = "aisa-publisher";
    public const string AgentPolicy = "agent-web";
    public const string PublisherPolicy = "publisher-web";
    private const string SessionClaim = "aisa:session";
    private const string ByPath = "aisa-by-path";

    public static IServiceCollection AddWebSessions(this IServiceCollection services)
    {
        // Each app's cookie is the caller of its own paths (the console's everywhere else), so every request has its one user:
        // an antiforgery token is checked against the user it was made for, on the login and logout forms too.
        var authentication = services.AddAuthentication(ByPath)
            .AddPolicyScheme(ByPath, "the app of the path", options => options.ForwardDefaultSelector = context =>
                context.Request.Path.StartsWithSegments("/agent") ? AgentScheme
                : context.Request.Path.StartsWithSegments("/publisher") ? PublisherScheme
                : Dashboard.DashboardAuth.Scheme);
        AddApp(authentication, AgentScheme, "aisa_agent", "/agent", SessionSubject.Agent);
        AddApp(authentication, PublisherScheme, "aisa_publisher", "/publisher", SessionSubject.Publisher);
        services.AddAuthorizationBuilder()
            .AddPolicy(AgentPolicy, policy => policy.AddAuthenticationSchemes(AgentScheme).RequireAuthenticatedUser())
            .AddPolicy(PublisherPolicy, policy => policy.AddAuthenticationSchemes(PublisherScheme).RequireAuthenticatedUser());
        return services;
    }

    private static void AddApp(AuthenticationBuilder authentication, string scheme, string cookie, string path, SessionSubject subject) =>
        authentication.AddCookie(scheme, options =>
        {
            options.Cookie.Name = cookie;
            options.Cookie.Path = path;
            options.Cookie.HttpOnly = true;
            // Lax, not Strict: a payer coming back from a hosted checkout, or following a 402's link, arrives logged in.
            // Every change is a POST with an antiforgery token, which Lax does not send cross-site anyway.
            options.Cookie.SameSite = SameSiteMode.Lax;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.ExpireTimeSpan = SessionStore.Lifetime;
            options.SlidingExpiration = false;
            options.LoginPath = path + "/login";
            options.AccessDeniedPath = path + "/login";
            options.ReturnUrlParameter = "returnUrl";
            // A page's script asking for JSON is told 401 (and reloads into the login); a browser asking for a page goes to the login.
            options.Events.OnRedirectToLogin = context =>
            {
                if (context.Request.GetTypedHeaders().Accept.Any(type => type.MediaType == "application/json"))
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                }
                else
                {
                    context.Response.Redirect(context.RedirectUri);
                }
                return Task.CompletedTask;
            };
            options.Events.OnValidatePrincipal = async context =>
            {
                var token = context.Principal?.FindFirstValue(SessionClaim);
                var id = token is null ? null
                    : await context.HttpContext.RequestServices.GetRequiredService<SessionStore>().FindSubjectAsync(Secrets.Hash(token), subject, context.HttpContext.RequestAborted);
                if (id is null || id.Value.ToString(CultureInfo.InvariantCulture) != context.Principal?.FindFirstValue(ClaimTypes.NameIdentifier))
                {
                    context.RejectPrincipal();
                    await context.HttpContext.SignOutAsync(scheme);
                }
            };
        });

    /// <summary>Keeps the session <paramref name="token"/> (from the API's register or login) in the app's cookie.</summary>
    public static Task SignInAsync(HttpContext context, string scheme, long id, string token) =>
        context.SignInAsync(scheme, new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, id.ToString(CultureInfo.InvariantCulture)), new Claim(SessionClaim, token)], scheme)));

    /// <summary>Ends the session in the store (the token stops working everywhere) and drops the cookie.</summary>
    public static async Task SignOutAsync(HttpContext context, string scheme, SessionSubject subject)
    {
        if (context.User.FindFirstValue(SessionClaim) is { } token)
        {
            await context.RequestServices.GetRequiredService<SessionStore>().EndAsync(Secrets.Hash(token), subject, context.RequestAborted);
        }
        await context.SignOutAsync(scheme);
    }

    /// <summary>The logout form of an app: its antiforgery token checked, the session ended, back to the app's login.</summary>
    public static async Task<IResult> LogOutAsync(HttpContext context, Microsoft.AspNetCore.Antiforgery.IAntiforgery antiforgery, string scheme, SessionSubject subject, string loginPath)
    {
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return Dashboard.DashboardAuth.CsrfRefused();
        }
        await SignOutAsync(context, scheme, subject);
        return Results.Redirect(loginPath);
    }

    /// <summary>The signed-in agent (the page's policy checked the cookie); null when it was disabled or removed since.</summary>
    public static async Task<Agent?> AgentAsync(HttpContext context)
    {
        var id = long.Parse(context.User.FindFirstValue(ClaimTypes.NameIdentifier)!, CultureInfo.InvariantCulture);
        var agent = await context.RequestServices.GetRequiredService<AgentStore>().FindByIdAsync(id, context.RequestAborted);
        return agent is { Disabled: false } ? agent : null;
    }

    /// <summary>The signed-in publisher; null when it was removed since.</summary>
    public static Task<Publisher?> PublisherAsync(HttpContext context)
    {
        var id = long.Parse(context.User.FindFirstValue(ClaimTypes.NameIdentifier)!, CultureInfo.InvariantCulture);
        return context.RequestServices.GetRequiredService<PublisherStore>().FindByIdAsync(id, context.RequestAborted);
    }
}
