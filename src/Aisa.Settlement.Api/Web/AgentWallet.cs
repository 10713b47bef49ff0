using System.Globalization;
using System.Text.Json;
using Aisa.Settlement.Api.Agents;
using Aisa.Settlement.Api.Auth;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Rails;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Deposits;
using Aisa.Settlement.Storage.Idempotency;
using static Aisa.Settlement.Api.Dashboard.Html;
using static Aisa.Settlement.Api.Web.WebPage;

namespace Aisa.Settlement.Api.Web;

/// <summary>
/// The agent's wallet at <c>/agent/</c> (and <c>/agent/wallet.html</c>, where the AISA documents send people): sign-up and
/// login, the balance, top-ups on every enabled rail, the deposits' progress, the statement and the crawler token. Rendered
/// on the server from the public API's own answers; every change is a POST with an antiforgery token.
/// </summary>
public static partial class AgentWallet
{
    public const string Home = "/agent/";
    private const string App = "AISA wallet";
    private const int StatementPage = 25;

    private static readonly (string Path, string Name)[] Nav = [(Home, "Wallet"), ("/agent/guard", "Guard"), ("/agent/webhook", "Webhook")];

    public static IEndpointRouteBuilder MapAgentWallet(this IEndpointRouteBuilder endpoints)
    {
        Login.Map(endpoints.MapGroup("/agent").ExcludeFromDescription());

        var pages = endpoints.MapGroup("/agent").RequireAuthorization(WebSessions.AgentPolicy).ExcludeFromDescription();
        pages.MapGet("/", WalletAsync);
        pages.MapGet("/wallet.html", WalletAsync);
        pages.MapPost("/logout", (HttpContext context, Microsoft.AspNetCore.Antiforgery.IAntiforgery antiforgery) => WebSessions.LogOutAsync(context, antiforgery, WebSessions.AgentScheme, SessionSubject.Agent, "/agent/login"));
        pages.MapPost("/topup", TopUpAsync).RequireRateLimiting(RateLimits.TopUpPolicy);
        pages.MapPost("/token/rotate", RotateAsync);
        pages.MapGet("/live", LiveAsync);
        MapGuard(pages);
        WebhookSection.Map(pages, Home, "/api/agent", async context =>
            {
                var (agent, refusal) = HttpMethods.IsPost(context.Request.Method) ? await PostingAgentAsync(context) : await SignedInAsync(context);
                return (agent is null ? null : Notifications.Notifier.AgentOwner(agent.Id), agent?.Email, refusal);
            },
            (context, who, body, status) => WebPage.Render(App, Home, Nav, "Webhook", who, WebPage.Csrf(context), "Webhook", body, status));
        return endpoints;
    }

    // ---------------------------------------------------------------- sign-up and login

    private static readonly WebLogin Login = new(App, Home, WebSessions.AgentScheme, "crawler",
        "Log in to your wallet", "Open a wallet for your crawler", "No wallet yet?", "Have a wallet?",
        [new SignUpField("crawlerType", "Crawler name (its User-Agent product, e.g. MyBot; optional)"), new SignUpField("name", "Your name or company (optional)")],
        (context, form) => AgentsApi.LogInAsync(new LoginRequest(form["email"], form["password"]), context.RequestServices.GetRequiredService<AgentStore>(),
            context.RequestServices.GetRequiredService<ILedger>(), context.RequestServices.GetRequiredService<Credentials>(),
            context.RequestServices.GetRequiredService<SessionAuthentication>(), context.RequestAborted),
        (context, form) => AgentsApi.RegisterAgentAsync(
            new RegisterAgentRequest(form["email"], form["password"], WebLogin.Optional(form["name"]), WebLogin.Optional(form["crawlerType"]), null, null),
            context.RequestServices.GetRequiredService<AgentStore>(), context.RequestServices.GetRequiredService<Credentials>(),
            context.RequestServices.GetRequiredService<SessionAuthentication>(), context.RequestAborted),
        // The crawler token exists in clear only in this answer: shown once, here.
        (_, answer) => WebPage.Plain(App, "Your crawler token", $"""
            <div class="login wide">
              <h1>Your wallet is open</h1>
              <p>Your crawler sends this token with every request, in the <code>X-AISA-Crawler-Token</code> header. It is shown
              <strong>this once</strong>: copy it now. You can rotate it on your wallet page.</p>
              <p><code id="crawler-token" class="secret">{E(answer.Body.GetProperty("crawler").GetProperty("crawlerToken").GetString())}</code></p>
              <p><a class="button primary" href="{Home}">Go to your wallet</a></p>
            </div>
            """, 201));

    // ---------------------------------------------------------------- the wallet

    /// <summary>The signed-in agent, or the way back to the login when it was disabled since.</summary>
    private static async Task<(Agent? Agent, IResult? Away)> SignedInAsync(HttpContext context)
    {
        if (await WebSessions.AgentAsync(context) is { } agent)
        {
            return (agent, null);
        }
        await WebSessions.SignOutAsync(context, WebSessions.AgentScheme, SessionSubject.Agent);
        return (null, Results.Redirect("/agent/login"));
    }

    /// <summary>The agent a form of the wallet acts for: its antiforgery token checked first, then its session.</summary>
    private static async Task<(Agent? Agent, IResult? Refusal)> PostingAgentAsync(HttpContext context) =>
        await WebPage.CsrfValidAsync(context) ? await SignedInAsync(context) : (null, Dashboard.DashboardAuth.CsrfRefused());

    private static IResult Page(HttpContext context, Agent agent, string title, string body, int status = 200, string active = "Wallet") =>
        WebPage.Render(App, Home, Nav, active, agent.Email, WebPage.Csrf(context), title, body, status);

    private static async Task<IResult> WalletAsync(HttpContext context, ILedger ledger, DepositStore deposits, TopUps topUps)
    {
        var (agent, away) = await SignedInAsync(context);
        return agent is null ? away! : await WalletPageAsync(context, agent, ledger, deposits, topUps, null, null);
    }

    private static async Task<IResult> WalletPageAsync(HttpContext context, Agent agent, ILedger ledger, DepositStore deposits, TopUps topUps, string? notice, string? error,
        int status = 200)
    {
        var cancellationToken = context.RequestAborted;
        var info = ApiAnswer.Of(await AgentsApi.AgentInfoAsync(agent, ledger, cancellationToken)).Body.GetProperty("crawler");
        var balanceText = info.GetProperty("balance").GetString()!;
        var balance = Micros.TryParseDecimal(balanceText, out var parsed) ? parsed : Micros.Zero;
        var before = long.TryParse(context.Request.Query["before"], NumberStyles.None, CultureInfo.InvariantCulture, out var cursor) ? cursor : (long?)null;
        var statement = ApiAnswer.Of(await AgentsApi.StatementAsync(agent, ledger, StatementPage, before, cancellationToken)).Body;
        var recent = ApiAnswer.Of(await DepositsApi.AgentDepositsAsync(agent, deposits, 10, null, cancellationToken)).Body.GetProperty("deposits");
        var addresses = ApiAnswer.Of(await DepositsApi.AgentAddressesAsync(agent, context.RequestServices.GetRequiredService<DepositAddressService>(), cancellationToken))
            .Body.GetProperty("addresses").EnumerateArray().Select(AddressCard).ToList();

        var state = balance < Micros.Zero
            ? $"<div class=\"value bad\" id=\"wallet-state\">frozen</div><div>A refund or chargeback of a top-up took the wallet below zero: it pays for nothing until a top-up of at least {E((-balance).ToPriceString())} brings it back.</div>"
            : "<div class=\"value ok\" id=\"wallet-state\">active</div>";
        var rails = topUps.Enabled;
        var railOptions = string.Concat(rails.Select(r => $"<option value=\"{E(r.Value)}\">{E(r.Value)}</option>"));
        var topUpForm = rails.Count == 0
            ? "<p class=\"muted\">No top-up rail is enabled on this gateway yet.</p>"
            : $"""
              <form method="post" action="/agent/topup" class="filters" id="topup-form">
                {CsrfField(WebPage.Csrf(context))}
                <input type="hidden" name="idempotencyKey" value="{Guid.NewGuid():N}">
                <label>Amount (USD)<input name="amount" id="topup-amount" inputmode="decimal" value="5.00" required></label>
                <label>Rail<select name="rail" id="topup-rail">{railOptions}</select></label>
                <button class="primary" type="submit">Top up</button>
              </form>
              """;
        var registry = context.RequestServices.GetRequiredService<Aisa.Settlement.Rails.IRailRegistry>();
        var depositRows = recent.EnumerateArray().Select(d => $"""
            <tr data-deposit="{E(d.GetProperty("id").GetInt64())}"><td class="num">{E(d.GetProperty("id").GetInt64())}</td><td>{E(d.GetProperty("rail").GetString())}</td>
            <td class="state">{E(d.GetProperty("state").GetString())}</td><td class="num">{E(Usd(d, "amount"))}</td>
            <td class="confirmations">{E(d.GetProperty("confirmations").GetInt32())}/{E(d.GetProperty("confirmationsRequired").GetInt32())}</td>
            <td class="finality">{E(Dashboard.DashboardPages.FinalityOf(d.GetProperty("rail").GetString()!, registry) switch { "depth" => $"after {d.GetProperty("confirmationsRequired").GetInt32()} confirmations", var other => other })}</td>
            <td>{E(At(d, "updatedAt"))}</td></tr>
            """).ToList();
        var transactionRows = statement.GetProperty("transactions").EnumerateArray().Select(t => $"""
            <tr><td class="num">{E(t.GetProperty("id").GetInt64())}</td><td>{E(t.GetProperty("type").GetString())}</td><td class="num">{E(Usd(t, "amount"))}</td>
            <td class="num">{E(Usd(t, "balanceAfter"))}</td><td>{E(At(t, "createdAt"))}</td><td class="mono">{E(Text(t, "reference"))}</td></tr>
            """).ToList();
        var next = statement.GetProperty("nextCursor").GetString();
        var body = $"""
            {WebPage.Notice(notice)}{WebPage.Notice(error, "error")}
            <div class="cards">
              <div class="card"><div class="muted">Balance</div><div class="value" id="balance">{E(balanceText)}</div><div class="muted">USD</div></div>
              <div class="card"><div class="muted">Spent</div><div class="value" id="spent">{E(info.GetProperty("totalSpent").GetString())}</div></div>
              <div class="card"><div class="muted">Wallet</div>{state}</div>
            </div>
            <h2 id="top-up">Top up</h2>
            {topUpForm}
            {(addresses.Count == 0 ? "" : $"<h2>Your deposit addresses</h2><p>Tokens sent here are credited to this wallet once final; no top-up request is needed.</p><div class=\"cards\" id=\"addresses\">{string.Concat(addresses)}</div>")}
            <h2>Crawler token</h2>
            <p>Your crawler sends its token in <code>X-AISA-Crawler-Token</code>. It is stored only as a hash, so it cannot be shown again;
            a new one replaces it at once (the old one stops working).</p>
            <form method="post" action="/agent/token/rotate" id="rotate-form">{CsrfField(WebPage.Csrf(context))}<button type="submit">Rotate the token</button></form>
            <h2>Deposits</h2>
            {(depositRows.Count == 0 ? "<p class=\"muted\">No deposits yet.</p>" : Table(["#", "Rail", "State", "Amount", "Confirmations", "Final", "Updated"], depositRows, "id=\"deposits\""))}
            <h2>Transactions</h2>
            {(transactionRows.Count == 0 ? "<p class=\"muted\">No transactions yet.</p>" : Table(["#", "Type", "Amount", "Balance after", "At", "Reference"], transactionRows, "id=\"transactions\""))}
            {(next is null ? "" : $"<p><a id=\"older\" href=\"{Home}?before={E(next)}\">Older transactions</a></p>")}
            """;
        return Page(context, agent, "Wallet", body, status);
    }

    /// <summary>
    /// One of the agent's own deposit addresses: the chain, the tokens credited there, and the address as a QR code — unless a
    /// payment to it must also carry the agent's reference, which a bare address cannot: then a top-up's payment request does.
    /// </summary>
    private static string AddressCard(JsonElement instructions)
    {
        var rail = Text(instructions, "rail");
        var address = Text(instructions, "address");
        var reference = Text(instructions, "reference");
        var tokens = instructions.TryGetProperty("tokens", out var list)
            ? string.Join(", ", list.EnumerateArray().Select(t => $"{Text(t, "symbol")} ({Text(t, "address")}, {Text(t, "decimals")} decimals)"))
            : "";
        var chain = Text(instructions, "chainId") is { Length: > 0 } id ? $" · chain {id}" : "";
        return $"""
            <div class="card pay" data-rail="{E(rail)}"><div class="muted">{E(rail + chain)}</div>
            {(reference.Length == 0 ? QrCodes.Image(address, rail + " address") : "")}
            <code class="pay-value">{E(address)}</code>
            {(reference.Length == 0 ? "" : $"<div>with the reference <code>{E(reference)}</code> in the transfer: use a top-up above for a payment request that carries it</div>")}
            <div class="muted">{E(tokens)}</div></div>
            """;
    }

    /// <summary>What the wallet page's script follows: the balance and the newest deposits, from the API's own answers.</summary>
    private static async Task<IResult> LiveAsync(HttpContext context, ILedger ledger, DepositStore deposits)
    {
        if (await WebSessions.AgentAsync(context) is not { } agent)
        {
            return Results.Unauthorized();
        }
        var info = ApiAnswer.Of(await AgentsApi.AgentInfoAsync(agent, ledger, context.RequestAborted)).Body.GetProperty("crawler");
        var recent = ApiAnswer.Of(await DepositsApi.AgentDepositsAsync(agent, deposits, 10, null, context.RequestAborted)).Body.GetProperty("deposits");
        return Results.Json(new { balance = info.GetProperty("balance").GetString(), deposits = recent });
    }

    private static async Task<IResult> TopUpAsync(HttpContext context, ILedger ledger, DepositStore deposits, TopUps topUps)
    {
        var (agent, refusal) = await PostingAgentAsync(context);
        if (agent is null)
        {
            return refusal!;
        }
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        if (!Micros.TryParseDecimal(form["amount"].ToString().Trim(), out var amount))
        {
            return await WalletPageAsync(context, agent, ledger, deposits, topUps, null, "The amount is a number of US dollars, e.g. 5.00.", 400);
        }
        var rail = form["rail"].ToString();
        // The form's own key: a second click, or the browser sending the form again, gets the first answer, not a second top-up.
        var key = form["idempotencyKey"].ToString() is { Length: > 0 and <= 64 } k && k.All(char.IsAsciiLetterOrDigit) ? "wallet-" + k : null;
        var answer = ApiAnswer.Of(await topUps.StartAsync(context.Request, agent, new CreateSessionRequest(amount, rail), key,
            IdempotentRequests.Fingerprint("POST", "/agent/topup", System.Text.Encoding.UTF8.GetBytes($"{amount.Value}|{rail}")), context.RequestAborted));
        if (!answer.Ok)
        {
            return await WalletPageAsync(context, agent, ledger, deposits, topUps, null, answer.Error, answer.Status);
        }
        return Page(context, agent, $"Top up {amount.ToAmountString()} USD", TopUpInstructions(answer));
    }

    /// <summary>
    /// What the rail answered, for a person: its message; what a payer acts on — a web page to open (<c>url</c> over https),
    /// a payment request, invoice or address to scan (<c>url</c> of a wallet's scheme, <c>invoice</c>, else <c>address</c>) as
    /// a QR code beside its text, or an endpoint of this API that the crawler's own client pays (a <c>url</c> under
    /// <c>/api/</c>: a browser opening it would only get an error); and every value of the answer to copy.
    /// </summary>
    private static string TopUpInstructions(ApiAnswer answer)
    {
        var actions = new List<string>();
        foreach (var field in (string[])["url", "invoice", "address"])
        {
            // A bare address when the rail also gave a payment request or an invoice would let a payer send without what
            // attributes the payment (a reference key): the request alone is shown to scan.
            if (answer.Text(field) is not { Length: > 0 } value || (field == "address" && actions.Count > 0))
            {
                continue;
            }
            var http = field == "url" && Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" ? uri : null;
            if (http is not null && http.AbsolutePath.StartsWith("/api/", StringComparison.Ordinal))
            {
                actions.Add($"""
                    <div class="card pay" data-pay="endpoint"><div class="muted">endpoint your crawler's client pays (POST)</div>
                    <code class="pay-value">{E(value)}</code></div>
                    """);
                continue;
            }
            var label = field switch { "url" => http is not null ? "payment page" : "payment request", "invoice" => "invoice", _ => "address" };
            actions.Add($"""
                <div class="card pay" data-pay="{E(field)}"><div class="muted">{E(label)}</div>
                {(http is not null ? $"<p><a class=\"button primary\" id=\"open-payment\" href=\"{E(value)}\">Open the payment page</a></p>" : "")}
                {QrCodes.Image(value, label)}<code class="pay-value">{E(value)}</code></div>
                """);
        }
        var items = answer.Body.EnumerateObject()
            .Where(p => p.Name is not ("message" or "success") && p.Value.ValueKind is not JsonValueKind.Null)
            .Select(p => $"<tr><th>{E(p.Name)}</th><td class=\"mono\" data-field=\"{E(p.Name)}\">{E(p.Value.ValueKind is JsonValueKind.Array or JsonValueKind.Object ? p.Value.GetRawText() : p.Value.ToString())}</td></tr>");
        return $"""
            {WebPage.Notice(answer.Text("message") is { Length: > 0 } message ? message : null)}
            <div class="cards">{string.Concat(actions)}</div>
            <h2>Details</h2>
            <table id="topup-answer"><tbody>{string.Concat(items)}</tbody></table>
            <p><a href="{Home}">Back to the wallet</a></p>
            """;
    }

    private static async Task<IResult> RotateAsync(HttpContext context, AgentStore agents)
    {
        var (agent, refusal) = await PostingAgentAsync(context);
        if (agent is null)
        {
            return refusal!;
        }
        var answer = ApiAnswer.Of(await AgentsApi.RotateCrawlerTokenAsync(agent, agents, context.RequestAborted));
        return Page(context, agent, "A new crawler token", $"""
            <p>Your crawler's new token, shown <strong>this once</strong>; the old one stopped working just now. Put it in your
            crawler's <code>X-AISA-Crawler-Token</code> header.</p>
            <p><code id="crawler-token" class="secret">{E(answer.Text("crawlerToken"))}</code></p>
            <p><a href="{Home}">Back to the wallet</a></p>
            """);
    }
}
