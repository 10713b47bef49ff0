using System.Text.Json;
using Aisa.Settlement.Api.Auth;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Publishers;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Pricing;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Payouts;
using Aisa.Settlement.Storage.Pricing;
using Aisa.Settlement.Storage.Publishers;
using static Aisa.Settlement.Api.Dashboard.Html;
using static Aisa.Settlement.Api.Web.WebPage;

namespace Aisa.Settlement.Api.Web;

/// <summary>
/// The publisher's dashboard at <c>/publisher/</c>: sign-up and login, the domain proof and its token, earnings (available,
/// in flight, paid), the pricing rules (add, edit, delete, and a preview of which rule a path and crawler type hit) and the
/// webhook. Rendered on the server from the public API's own answers; every change is a POST with an antiforgery token.
/// </summary>
public static partial class PublisherDashboard
{
    public const string Home = "/publisher/";
    private const string App = "AISA publisher";

    private static readonly (string Path, string Name)[] Nav = [(Home, "Dashboard"), ("/publisher/payouts", "Payouts"), ("/publisher/webhook", "Webhook")];

    public static IEndpointRouteBuilder MapPublisherDashboard(this IEndpointRouteBuilder endpoints)
    {
        Login.Map(endpoints.MapGroup("/publisher").ExcludeFromDescription());

        var pages = endpoints.MapGroup("/publisher").RequireAuthorization(WebSessions.PublisherPolicy).ExcludeFromDescription();
        pages.MapGet("/", DashboardAsync);
        pages.MapPost("/logout", (HttpContext context, Microsoft.AspNetCore.Antiforgery.IAntiforgery antiforgery) => WebSessions.LogOutAsync(context, antiforgery, WebSessions.PublisherScheme, SessionSubject.Publisher, "/publisher/login"));
        pages.MapPost("/rules", AddRuleAsync);
        pages.MapPost("/rules/{id:long}", ReplaceRuleAsync);
        pages.MapPost("/rules/{id:long}/delete", RemoveRuleAsync);
        pages.MapPost("/domain/check", CheckDomainAsync);
        MapPayouts(pages);
        WebhookSection.Map(pages, Home, "/api/publisher", async context =>
            {
                var (publisher, refusal) = await ActingPublisherAsync(context);
                return (publisher is null ? null : Notifications.Notifier.PublisherOwner(publisher.Id), publisher?.Email, refusal);
            },
            (context, who, body, status) => WebPage.Render(App, Home, Nav, "Webhook", who, WebPage.Csrf(context), "Webhook", body, status));
        return endpoints;
    }

    // ---------------------------------------------------------------- sign-up and login

    private static readonly WebLogin Login = new(App, Home, WebSessions.PublisherScheme, "publisher",
        "Log in to your publisher dashboard", "Charge crawlers for your content", "Not a publisher here yet?", "Signed up already?",
        [new SignUpField("domain", "Your site's domain (e.g. news.example.com)", Required: true), new SignUpField("name", "Your name or company (optional)")],
        (context, form) => PublishersApi.LogInPublisherAsync(new PublisherLoginRequest(form["email"], form["password"]),
            context.RequestServices.GetRequiredService<PublisherStore>(), context.RequestServices.GetRequiredService<Credentials>(),
            context.RequestServices.GetRequiredService<SessionAuthentication>(), context.RequestAborted),
        (context, form) => PublishersApi.RegisterPublisherAsync(
            new RegisterPublisherRequest(form["email"], form["password"], WebLogin.Optional(form["name"]), form["domain"]),
            context.RequestServices.GetRequiredService<PublisherStore>(), context.RequestServices.GetRequiredService<Credentials>(),
            context.RequestServices.GetRequiredService<SessionAuthentication>(), context.RequestServices.GetRequiredService<PublisherOptions>(), context.RequestAborted));

    /// <summary>The publisher of a request of the dashboard (a POST's antiforgery token checked first), or where to send the caller.</summary>
    private static async Task<(Publisher? Publisher, IResult? Refusal)> ActingPublisherAsync(HttpContext context)
    {
        if (HttpMethods.IsPost(context.Request.Method) && !await WebPage.CsrfValidAsync(context))
        {
            return (null, Dashboard.DashboardAuth.CsrfRefused());
        }
        if (await WebSessions.PublisherAsync(context) is { } publisher)
        {
            return (publisher, null);
        }
        await WebSessions.SignOutAsync(context, WebSessions.PublisherScheme, SessionSubject.Publisher);
        return (null, Results.Redirect("/publisher/login"));
    }

    // ---------------------------------------------------------------- the dashboard

    private static async Task<IResult> DashboardAsync(HttpContext context, PublisherStore publishers, RuleStore rules, ILedger ledger, PayoutStore payouts)
    {
        var (publisher, away) = await ActingPublisherAsync(context);
        var done = context.Request.Query["done"].ToString() switch
        {
            "added" => "The rule is added.",
            "saved" => "The rule is saved.",
            "deleted" => "The rule is deleted.",
            "proven" => "Your domain is proven: your rules charge crawlers.",
            _ => null,
        };
        return publisher is null ? away! : await RenderAsync(context, publisher, publishers, rules, ledger, payouts, done, null);
    }

    private static async Task<IResult> RenderAsync(HttpContext context, Publisher publisher, PublisherStore publishers, RuleStore rules, ILedger ledger, PayoutStore payouts,
        string? notice, string? error, int status = 200)
    {
        var cancellationToken = context.RequestAborted;
        var csrf = WebPage.Csrf(context);
        var proof = ApiAnswer.Of(await PublishersApi.DomainProofOfAsync(publisher, publishers, cancellationToken));
        var earnings = ApiAnswer.Of(await PublishersApi.EarningsOfAsync(publisher, ledger, payouts, cancellationToken)).Body.GetProperty("earnings");
        var list = ApiAnswer.Of(await PublishersApi.RulesOfAsync(publisher, rules, cancellationToken)).Body.GetProperty("rules");
        var verified = proof.Body.GetProperty("verified").GetBoolean();
        var proofCard = verified
            ? "<div class=\"value ok\" id=\"domain-state\">proven</div>"
            : $"""
              <div class="value warn" id="domain-state">not proven</div>
              <div>Until it is, your rules charge nothing. Serve this token, alone, at <code>{E(proof.Text("url"))}</code>:</div>
              <code id="domain-token" class="secret">{E(proof.Text("token"))}</code>
              <form class="inline" method="post" action="/publisher/domain/check" id="domain-check">{CsrfField(csrf)}<button type="submit">Check now</button></form>
              """;
        string Card(string id, string label, string property) =>
            $"<div class=\"card\"><div class=\"muted\">{E(label)}</div><div class=\"value\" id=\"{id}\">{E(Usd(earnings, property))}</div></div>";
        var ruleRows = list.EnumerateArray().Select(rule => RuleRow(rule, csrf)).ToList();
        var body = $"""
            {WebPage.Notice(notice)}{WebPage.Notice(error, "error")}
            <div class="cards">
              <div class="card"><div class="muted">Domain {E(proof.Text("domain"))}</div>{proofCard}</div>
              {Card("available", "Available to pay out", "available")}{Card("in-flight", "In flight", "inFlight")}{Card("paid", "Paid out", "paid")}
              {Card("gross", "Charged to crawlers", "grossCharges")}{Card("fees", "Platform's share", "platformFees")}
            </div>
            <h2>Pricing rules</h2>
            {(ruleRows.Count == 0 ? "<p class=\"muted\">No rules yet: nothing is charged.</p>" : Table(["Path pattern", "Access", "Price (USD)", "Billing", "Crawler type", ""], ruleRows, "id=\"rules\""))}
            <h2>Add a rule</h2>
            <form method="post" action="/publisher/rules" class="filters" id="rule-form">{CsrfField(csrf)}{RuleFields(null)}<button class="primary" type="submit">Add the rule</button></form>
            <h2>Which rule applies?</h2>
            {await PreviewAsync(context, publisher, rules)}
            """;
        return WebPage.Render(App, Home, Nav, "Dashboard", publisher.Email, csrf, "Dashboard", body, status);
    }

    /// <summary>The form fields of a rule, filled with <paramref name="rule"/> when it is one being edited.</summary>
    private static string RuleFields(JsonElement? rule)
    {
        string Value(string property) => rule is { } r && r.TryGetProperty(property, out var v) && v.ValueKind != JsonValueKind.Null ? v.ToString() : "";
        string Options(string property, string[] choices, string fallback) => string.Concat(choices.Select(c =>
            $"<option{((Value(property) is { Length: > 0 } chosen ? chosen : fallback) == c ? " selected" : "")}>{c}</option>"));
        return $"""
            <label>Path pattern<input name="urlPattern" value="{E(Value("urlPattern"))}" placeholder="/articles/" required></label>
            <label>Access<select name="accessMode">{Options("accessMode", ["pay", "free", "block"], "pay")}</select></label>
            <label>Price (USD)<input name="price" inputmode="decimal" size="8" value="{E(Value("price"))}"></label>
            <label>Billing<select name="billingType">{Options("billingType", ["per-request", "one-time", "time-pass-hour"], "per-request")}</select></label>
            <label>Crawler type (optional)<input name="crawlerType" size="12" value="{E(Value("crawlerType"))}"></label>
            """;
    }

    private static string RuleRow(JsonElement rule, string csrf)
    {
        var id = rule.GetProperty("id").GetInt64();
        return $"""
            <tr data-rule="{E(id)}"><td colspan="5"><form method="post" action="/publisher/rules/{E(id)}" class="filters">{CsrfField(csrf)}{RuleFields(rule)}<button type="submit">Save</button></form></td>
            <td><form class="inline" method="post" action="/publisher/rules/{E(id)}/delete">{CsrfField(csrf)}<button type="submit">Delete</button></form></td></tr>
            """;
    }

    /// <summary>The rule verify would pick for a path and a crawler type, by the same selection (reads only).</summary>
    private static async Task<string> PreviewAsync(HttpContext context, Publisher publisher, RuleStore rules)
    {
        var path = context.Request.Query["path"].ToString().Trim();
        var crawlerType = context.Request.Query["crawlerType"].ToString().Trim();
        var form = $"""
            <form method="get" action="{Home}" class="filters" id="preview-form">
              <label>Path<input name="path" value="{E(path)}" placeholder="/articles/1"></label>
              <label>Crawler type<input name="crawlerType" value="{E(crawlerType)}" placeholder="GPTBot"></label>
              <button type="submit">Preview</button>
            </form>
            """;
        if (path.Length == 0)
        {
            return form;
        }
        if (Uri.TryCreate(path, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https")
        {
            path = absolute.PathAndQuery;
        }
        if (!path.StartsWith('/'))
        {
            return form + "<div class=\"error\" id=\"preview\">A path starts with /, e.g. /articles/1.</div>";
        }
        var rule = PricingRule.Select(await rules.ListAsync(publisher.Id, context.RequestAborted), path.Split('?')[0], crawlerType.Length == 0 ? null : crawlerType);
        return form + (rule is null
            ? $"<div class=\"notice\" id=\"preview\">No rule matches {E(path)}: it is free.</div>"
            : $"<div class=\"notice\" id=\"preview\" data-rule=\"{E(rule.Id)}\">{E(path)} hits the rule {E(rule.UrlPattern)}: {E(rule.AccessMode.ToWire())}" +
              $"{(rule.AccessMode == AccessMode.Pay ? $", {E(rule.Price.ToPriceString())} {E(rule.BillingType.ToWire())}" : "")}.</div>");
    }

    private static RuleRequest? RuleOf(IFormCollection form, out string? problem)
    {
        problem = null;
        Micros? price = null;
        if (form["price"].ToString().Trim() is { Length: > 0 } text)
        {
            if (!Micros.TryParseDecimal(text, out var parsed))
            {
                problem = "The price is a number of US dollars, e.g. 0.01.";
                return null;
            }
            price = parsed;
        }
        var crawlerType = form["crawlerType"].ToString().Trim();
        return new RuleRequest(form["urlPattern"].ToString().Trim(), form["accessMode"], price, null, form["billingType"], crawlerType.Length == 0 ? null : crawlerType);
    }

    private static async Task<IResult> AddRuleAsync(HttpContext context, PublisherStore publishers, RuleStore rules, PublisherDirectory directory, ILedger ledger, PayoutStore payouts) =>
        await ChangeRuleAsync(context, publishers, rules, ledger, payouts, "added",
            (publisher, input) => PublishersApi.AddRuleAsync(publisher, input, rules, directory, context.RequestAborted));

    private static async Task<IResult> ReplaceRuleAsync(long id, HttpContext context, PublisherStore publishers, RuleStore rules, PublisherDirectory directory, ILedger ledger,
        PayoutStore payouts) =>
        await ChangeRuleAsync(context, publishers, rules, ledger, payouts, "saved",
            (publisher, input) => PublishersApi.ReplaceRuleAsync(publisher, id, input, rules, directory, context.RequestAborted));

    private static async Task<IResult> ChangeRuleAsync(HttpContext context, PublisherStore publishers, RuleStore rules, ILedger ledger, PayoutStore payouts, string done,
        Func<Publisher, RuleRequest, Task<Storage.Idempotency.StoredResponse>> change)
    {
        var (publisher, refusal) = await ActingPublisherAsync(context);
        if (publisher is null)
        {
            return refusal!;
        }
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        if (RuleOf(form, out var problem) is not { } input)
        {
            return await RenderAsync(context, publisher, publishers, rules, ledger, payouts, null, problem, 400);
        }
        var answer = ApiAnswer.Of(await change(publisher, input));
        return answer.Ok
            ? Results.Redirect($"{Home}?done={done}")
            : await RenderAsync(context, publisher, publishers, rules, ledger, payouts, null, answer.Error, answer.Status);
    }

    /// <summary>"Check now": the API's own check of the domain's proof; its reason shown when the domain does not serve the token.</summary>
    private static async Task<IResult> CheckDomainAsync(HttpContext context, PublisherStore publishers, PublisherDirectory directory, DomainProof proof,
        ILogger<DomainProof> logger, RuleStore rules, ILedger ledger, PayoutStore payouts)
    {
        var (publisher, refusal) = await ActingPublisherAsync(context);
        if (publisher is null)
        {
            return refusal!;
        }
        var answer = ApiAnswer.Of(await PublishersApi.CheckDomainProofOfAsync(publisher, publishers, directory, proof, logger, context.RequestAborted));
        return answer.Ok
            ? Results.Redirect($"{Home}?done=proven")
            : await RenderAsync(context, publisher, publishers, rules, ledger, payouts, null, answer.Error, answer.Status);
    }

    private static async Task<IResult> RemoveRuleAsync(long id, HttpContext context, PublisherStore publishers, RuleStore rules, PublisherDirectory directory, ILedger ledger,
        PayoutStore payouts)
    {
        var (publisher, refusal) = await ActingPublisherAsync(context);
        if (publisher is null)
        {
            return refusal!;
        }
        return await PublishersApi.RemoveRuleAsync(publisher, id, rules, directory, context.RequestAborted) is { } refused
            ? await RenderAsync(context, publisher, publishers, rules, ledger, payouts, null, ApiAnswer.Of(refused).Error, refused.StatusCode)
            : Results.Redirect($"{Home}?done=deleted");
    }
}
