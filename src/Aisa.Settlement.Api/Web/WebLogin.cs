using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Storage.Idempotency;
using static Aisa.Settlement.Api.Dashboard.Html;

namespace Aisa.Settlement.Api.Web;

/// <summary>A field of a sign-up form beyond the email and the password.</summary>
public sealed record SignUpField(string Name, string Label, bool Required = false);

/// <summary>
/// The sign-up and login of one app (the agent's wallet, the publisher's dashboard): their forms, answered by the API's own
/// register and login (<paramref name="SignUp"/>, <paramref name="LogIn"/>), the session they answer kept in the app's cookie.
/// </summary>
/// <param name="Owner">The property of the API's answer that holds the signed-in owner and its <c>id</c>.</param>
/// <param name="Welcome">What a new owner sees after signing up (the wallet shows its crawler token there, once); null: its home page.</param>
public sealed record WebLogin(
    string App, string Home, string Scheme, string Owner,
    string LoginHeading, string SignUpHeading, string NoAccount, string HaveAccount, IReadOnlyList<SignUpField> Fields,
    Func<HttpContext, IFormCollection, Task<StoredResponse>> LogIn,
    Func<HttpContext, IFormCollection, Task<StoredResponse>> SignUp,
    Func<HttpContext, ApiAnswer, IResult>? Welcome = null)
{
    private string LoginPath => Home + "login";
    private string SignUpPath => Home + "signup";

    public void Map(RouteGroupBuilder open)
    {
        open.MapGet("/login", (HttpContext context) => LoginPage(context, null, context.Request.Query["returnUrl"]));
        open.MapPost("/login", (Func<HttpContext, Task<IResult>>)LogInAsync).RequireRateLimiting(RateLimits.AuthPolicy);
        open.MapGet("/signup", (HttpContext context) => SignUpPage(context, null, null));
        open.MapPost("/signup", (Func<HttpContext, Task<IResult>>)SignUpAsync).RequireRateLimiting(RateLimits.AuthPolicy);
    }

    /// <summary>An optional text field: null when left empty.</summary>
    public static string? Optional(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private IResult LoginPage(HttpContext context, string? error, string? returnUrl, string email = "", int status = 200) => WebPage.Plain(App, "Log in", $"""
        <form class="login" method="post" action="{E(LoginPath)}">
          <h1>{E(LoginHeading)}</h1>
          {WebPage.Notice(error, "error")}
          {CsrfField(WebPage.Csrf(context))}
          <input type="hidden" name="returnUrl" value="{E(WebPage.LocalPath(Home, returnUrl))}">
          <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" value="{E(email)}" required autofocus>
          <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
          <button class="primary" type="submit">Log in</button>
          <p class="muted">{E(NoAccount)} <a href="{E(SignUpPath)}">Sign up</a></p>
        </form>
        """, status);

    private IResult SignUpPage(HttpContext context, string? error, IFormCollection? form, int status = 200) => WebPage.Plain(App, "Sign up", $"""
        <form class="login" method="post" action="{E(SignUpPath)}">
          <h1>{E(SignUpHeading)}</h1>
          {WebPage.Notice(error, "error")}
          {CsrfField(WebPage.Csrf(context))}
          <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" value="{E(form?["email"])}" required autofocus>
          <label for="password">Password (at least 8 characters)</label><input id="password" name="password" type="password" autocomplete="new-password" required>
          {string.Concat(Fields.Select(f => $"<label for=\"{E(f.Name)}\">{E(f.Label)}</label><input id=\"{E(f.Name)}\" name=\"{E(f.Name)}\" value=\"{E(form?[f.Name])}\"{(f.Required ? " required" : "")}>"))}
          <button class="primary" type="submit">Sign up</button>
          <p class="muted">{E(HaveAccount)} <a href="{E(LoginPath)}">Log in</a></p>
        </form>
        """, status);

    private async Task<IResult> LogInAsync(HttpContext context)
    {
        if (!await WebPage.CsrfValidAsync(context))
        {
            return Dashboard.DashboardAuth.CsrfRefused();
        }
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var answer = ApiAnswer.Of(await LogIn(context, form));
        if (!answer.Ok)
        {
            return LoginPage(context, answer.Error, form["returnUrl"], form["email"].ToString(), answer.Status);
        }
        await KeepSessionAsync(context, answer);
        return Results.Redirect(WebPage.LocalPath(Home, form["returnUrl"]));
    }

    private async Task<IResult> SignUpAsync(HttpContext context)
    {
        if (!await WebPage.CsrfValidAsync(context))
        {
            return Dashboard.DashboardAuth.CsrfRefused();
        }
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var answer = ApiAnswer.Of(await SignUp(context, form));
        if (!answer.Ok)
        {
            return SignUpPage(context, answer.Error, form, answer.Status);
        }
        await KeepSessionAsync(context, answer);
        return Welcome is null ? Results.Redirect(Home) : Welcome(context, answer);
    }

    private Task KeepSessionAsync(HttpContext context, ApiAnswer answer) =>
        WebSessions.SignInAsync(context, Scheme, answer.Body.GetProperty(Owner).GetProperty("id").GetInt64(), answer.Text("token"));
}
