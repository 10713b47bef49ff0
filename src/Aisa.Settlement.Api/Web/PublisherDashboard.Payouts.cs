using System.Globalization;
using System.Text.Json;
using Aisa.Settlement.Api.Payouts;
using Aisa.Settlement.Api.Publishers;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage.Payouts;
using Aisa.Settlement.Storage.Publishers;
using static Aisa.Settlement.Api.Dashboard.Html;
using static Aisa.Settlement.Api.Web.WebPage;

namespace Aisa.Settlement.Api.Web;

/// <summary>The dashboard's payouts page: the rail and destination the publisher is paid on (checked by the rail), and its payouts with their evidence.</summary>
public static partial class PublisherDashboard
{
    private const string PayoutsPath = "/publisher/payouts";
    private const int PayoutsPerPage = 25;

    private static void MapPayouts(RouteGroupBuilder pages)
    {
        pages.MapGet("/payouts", async (HttpContext context, PayoutStore payouts, IRailRegistry rails, PayoutOptions options, ILedger ledger) =>
        {
            var (publisher, away) = await ActingPublisherAsync(context);
            var done = context.Request.Query["done"] == "saved" ? "Your payout rail is saved: the next payout run pays you there." : null;
            return publisher is null ? away! : await PayoutsPageAsync(context, publisher, payouts, rails, options, ledger, done, null, null);
        });
        pages.MapPost("/payouts/settings", SavePayoutSettingsAsync);
    }

    private static async Task<IResult> SavePayoutSettingsAsync(HttpContext context, PayoutStore payouts, IRailRegistry rails, PayoutOptions options, ILedger ledger)
    {
        var (publisher, refusal) = await ActingPublisherAsync(context);
        if (publisher is null)
        {
            return refusal!;
        }
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        Micros? minimum = null;
        if (form["minimumAmount"].ToString().Trim() is { Length: > 0 } text)
        {
            if (!Micros.TryParseDecimal(text, out var parsed))
            {
                return await PayoutsPageAsync(context, publisher, payouts, rails, options, ledger, null, "The minimum is a number of US dollars, e.g. 10.", form, 400);
            }
            minimum = parsed;
        }
        var answer = ApiAnswer.Of(await PayoutsApi.SavePayoutSettingsAsync(publisher.Id,
            new PayoutSettingsRequest(form["rail"], form["destination"], minimum), payouts, rails, options, context.RequestAborted));
        return answer.Ok
            ? Results.Redirect($"{PayoutsPath}?done=saved")
            : await PayoutsPageAsync(context, publisher, payouts, rails, options, ledger, null, answer.Error, form, answer.Status);
    }

    /// <param name="form">What the publisher sent, shown again when it was refused.</param>
    private static async Task<IResult> PayoutsPageAsync(HttpContext context, Publisher publisher, PayoutStore payouts, IRailRegistry rails, PayoutOptions options, ILedger ledger,
        string? notice, string? error, IFormCollection? form, int status = 200)
    {
        var cancellationToken = context.RequestAborted;
        var csrf = WebPage.Csrf(context);
        var settings = ApiAnswer.Of(await PayoutsApi.PayoutSettingsOfAsync(publisher.Id, payouts, cancellationToken));
        var current = settings.Ok ? settings.Body.GetProperty("payoutSettings") : (JsonElement?)null;
        var earnings = ApiAnswer.Of(await PublishersApi.EarningsOfAsync(publisher, ledger, payouts, cancellationToken)).Body.GetProperty("earnings");
        long? before = long.TryParse(context.Request.Query["before"], NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
        var list = ApiAnswer.Of(await PayoutsApi.PayoutsOfAsync(new PayoutFilter(publisher.Id, BeforeId: before, Limit: PayoutsPerPage), payouts, cancellationToken))
            .Body.GetProperty("payouts");

        var paidOn = current is { } s
            ? $"""
              <div class="value" id="payout-rail">{E(Text(s, "rail"))}</div>
              <div class="mono" id="payout-destination">{E(Text(s, "destination"))}</div>
              <div class="muted">paid from {E(Usd(s, "minimumAmount"))} USD up · chosen {E(At(s, "updatedAt"))}</div>
              """
            : "<div class=\"value warn\" id=\"payout-rail\">none chosen</div><div class=\"muted\">Your earnings wait here until you choose a rail.</div>";
        string Card(string elementId, string label, string property) =>
            $"<div class=\"card\"><div class=\"muted\">{E(label)}</div><div class=\"value\" id=\"{elementId}\">{E(Usd(earnings, property))}</div></div>";

        var railNames = PayoutsApi.PayoutRails(rails);
        var chosen = form?["rail"].ToString() ?? (current is { } c ? Text(c, "rail") : "");
        var railOptions = string.Concat(railNames.Select(rail =>
            $"<option value=\"{E(rail)}\"{(rail == chosen ? " selected" : "")}>{E(rail)} (from {E(options.MinimumOn(rail).ToAmountString())} USD)</option>"));
        var settingsForm = railNames.Count == 0
            ? "<p class=\"muted\">This gateway pays out on no rail yet: ask its operator.</p>"
            : $"""
              <form method="post" action="{PayoutsPath}/settings" class="filters" id="payout-form">{CsrfField(csrf)}
                <label>Rail<select name="rail">{railOptions}</select></label>
                <label>Destination (the address or account the rail pays)<input name="destination" size="48" value="{E(form?["destination"].ToString() ?? (current is { } d ? Text(d, "destination") : ""))}" required></label>
                <label>Pay me from (USD, optional)<input name="minimumAmount" inputmode="decimal" size="8" value="{E(form?["minimumAmount"].ToString() ?? (current is { } m ? Usd(m, "minimumAmount") : ""))}"></label>
                <button class="primary" type="submit">Save</button>
              </form>
              """;

        var rows = list.EnumerateArray().Select(PayoutRow).ToList();
        var older = rows.Count == PayoutsPerPage ? $"<p><a href=\"{PayoutsPath}?before={E(list[rows.Count - 1].GetProperty("id").GetInt64())}\">Older payouts</a></p>" : "";
        var body = $"""
            {WebPage.Notice(notice)}{WebPage.Notice(error, "error")}
            <div class="cards">
              <div class="card"><div class="muted">Paid on</div>{paidOn}</div>
              {Card("available", "Available to pay out", "available")}{Card("in-flight", "In flight", "inFlight")}{Card("paid", "Paid out", "paid")}
            </div>
            <h2>Payout rail</h2>
            {settingsForm}
            <h2>Payouts</h2>
            {(rows.Count == 0 ? "<p class=\"muted\">No payouts yet.</p>" : Table(["#", "Created", "State", "Amount (USD)", "Rail", "Destination", "Reference", "Confirmations", "Evidence"], rows, "id=\"payouts\""))}
            {older}
            """;
        return WebPage.Render(App, Home, Nav, "Payouts", publisher.Email, csrf, "Payouts", body, status);
    }

    private static string PayoutRow(JsonElement payout) => $"""
        <tr data-payout="{E(payout.GetProperty("id").GetInt64())}"><td>{E(payout.GetProperty("id").GetInt64())}</td><td>{E(At(payout, "createdAt"))}</td>
        <td class="state">{E(Text(payout, "state"))}</td><td class="num">{E(Usd(payout, "amount"))}</td><td>{E(Text(payout, "rail"))}</td>
        <td class="mono">{E(Text(payout, "destination"))}</td><td class="mono reference">{E(Text(payout, "reference"))}</td>
        <td>{Confirmations(payout)}</td>
        <td class="mono evidence">{Evidence(payout)}</td></tr>
        """;

    /// <summary>k/N on a rail that counts confirmations; nothing on one whose answer is final (a settled invoice, a transfer).</summary>
    private static string Confirmations(JsonElement payout) =>
        payout.GetProperty("confirmationsRequired").GetInt32() is > 0 and var required ? E($"{payout.GetProperty("confirmations").GetInt32()}/{required}") : "";

    /// <summary>What the payout rests on (the rail's own record: a transaction, a preimage, a transfer), one fact a line.</summary>
    private static string Evidence(JsonElement payout) =>
        payout.TryGetProperty("evidence", out var evidence) && evidence.ValueKind == JsonValueKind.Object
            ? string.Join("<br>", evidence.EnumerateObject().Select(fact => $"<span data-fact=\"{E(fact.Name)}\">{E(fact.Name)}: {E(fact.Value.ToString())}</span>"))
            : "";
}
