using System.Globalization;
using System.Text.Json;
using Aisa.Settlement.Api.Guard;
using Aisa.Settlement.Guard;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Guard;
using static Aisa.Settlement.Api.Dashboard.Html;
using static Aisa.Settlement.Api.Web.WebPage;

namespace Aisa.Settlement.Api.Web;

/// <summary>The wallet's guard page: the crawler's spending policy, what it spent, and the charges waiting for approval.</summary>
public static partial class AgentWallet
{
    private static readonly (string Field, string Label)[] Amounts =
    [
        ("maxPricePerRequest", "Most per request (USD)"), ("dailyBudget", "Daily budget (USD)"), ("monthlyBudget", "Monthly budget (USD)"),
        ("approvalAbove", "Ask me before paying more than (USD)"),
    ];

    private static void MapGuard(RouteGroupBuilder pages)
    {
        pages.MapGet("/guard", GuardPageAsync);
        pages.MapPost("/guard", SetGuardAsync);
        pages.MapPost("/approvals/{approvalId}/approve", (string approvalId, HttpContext context, ILedger ledger, ApprovalStore approvals, TimeProvider clock) =>
            DecideAsync(approvalId, ApprovalState.Approved, context, ledger, approvals, clock));
        pages.MapPost("/approvals/{approvalId}/decline", (string approvalId, HttpContext context, ILedger ledger, ApprovalStore approvals, TimeProvider clock) =>
            DecideAsync(approvalId, ApprovalState.Declined, context, ledger, approvals, clock));
    }

    private static async Task<IResult> GuardPageAsync(HttpContext context, ILedger ledger, ApprovalStore approvals, TimeProvider clock)
    {
        var (agent, away) = await SignedInAsync(context);
        // What the last form did, after its redirect (a reload then sends nothing again).
        var done = context.Request.Query["done"].ToString() switch
        {
            "saved" => "The policy is saved.",
            "approved" => "Approved: the crawler's next request for it is charged once.",
            "declined" => "Declined: the crawler is told so.",
            _ => null,
        };
        return agent is null ? away! : await RenderGuardAsync(context, agent, ledger, approvals, clock, done, null);
    }

    private static async Task<IResult> RenderGuardAsync(HttpContext context, Agent agent, ILedger ledger, ApprovalStore approvals, TimeProvider clock, string? notice, string? error,
        int status = 200, IFormCollection? sent = null)
    {
        var cancellationToken = context.RequestAborted;
        var view = ApiAnswer.Of(await GuardApi.GuardAsync(agent, ledger, clock, cancellationToken)).Body;
        var guard = view.GetProperty("guard");
        // A refused form is shown again as it was sent, with the reason; otherwise the policy in force.
        string Value(string field) => sent is not null ? sent[field].ToString()
            : guard.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null ? (v.ValueKind == JsonValueKind.Array ? string.Join("\n", v.EnumerateArray().Select(d => d.GetString())) : v.ToString()) : "";
        var signed = sent is not null ? sent["requireSignedRequests"] == "true" : guard.TryGetProperty("requireSignedRequests", out var r) && r.ValueKind == JsonValueKind.True;
        var spending = view.GetProperty("spending").EnumerateObject().Select(p => $"""
            <div class="card" data-period="{E(p.Name)}"><div class="muted">Spent this {E(p.Name)}</div><div class="value spent">{E(Usd(p.Value, "spent"))}</div>
            <div>{(p.Value.TryGetProperty("limit", out var limit) && limit.ValueKind == JsonValueKind.Number ? $"of {E(Usd(p.Value, "limit"))}, <span class=\"remaining\">{E(Usd(p.Value, "remaining"))}</span> left" : "no budget")}</div>
            <div class="muted">renews {E(At(p.Value, "renewsAt"))}</div></div>
            """);
        var csrf = WebPage.Csrf(context);
        var list = ApiAnswer.Of(await GuardApi.ListApprovalsAsync(agent, null, approvals, cancellationToken)).Body.GetProperty("approvals");
        var approvalRows = list.EnumerateArray().Select(a =>
        {
            var id = a.GetProperty("id").GetString()!;
            var state = a.GetProperty("state").GetString()!;
            var actions = state == "pending"
                ? $"""
                  <form class="inline" method="post" action="/agent/approvals/{E(Uri.EscapeDataString(id))}/approve">{CsrfField(csrf)}<button class="primary" type="submit">Approve</button></form>
                  <form class="inline" method="post" action="/agent/approvals/{E(Uri.EscapeDataString(id))}/decline">{CsrfField(csrf)}<button type="submit">Decline</button></form>
                  """
                : "";
            return $"<tr data-approval=\"{E(id)}\"><td>{E(a.GetProperty("publisher").GetString())}</td><td class=\"mono\">{E(a.GetProperty("resource").GetString())}</td>" +
                $"<td class=\"num\">{E(Usd(a, "price"))}</td><td class=\"state\">{E(state)}</td><td>{E(At(a, "createdAt"))}</td><td>{actions}</td></tr>";
        }).ToList();
        var fields = string.Concat(Amounts.Select(a =>
            $"<label>{E(a.Label)}<input name=\"{a.Field}\" id=\"{a.Field}\" inputmode=\"decimal\" value=\"{E(Value(a.Field))}\" placeholder=\"no limit\"></label>"));
        var body = $"""
            {WebPage.Notice(notice)}{WebPage.Notice(error, "error")}
            <div class="cards" id="spending">{string.Concat(spending)}</div>
            <h2>Policy</h2>
            <p>Every verify of your crawler is checked against this before it is charged. A field left empty is no limit.</p>
            <form method="post" action="/agent/guard" id="guard-form">
              {CsrfField(csrf)}
              <div class="filters">{fields}
                <label>Requests per minute<input name="requestsPerMinute" id="requestsPerMinute" inputmode="numeric" value="{E(Value("requestsPerMinute"))}" placeholder="no limit"></label>
              </div>
              <div class="filters">
                <label>Only these publishers (one domain a line)<textarea name="publisherAllowlist" id="publisherAllowlist" rows="4" cols="40">{E(Value("publisherAllowlist"))}</textarea></label>
                <label>Never these publishers<textarea name="publisherDenylist" id="publisherDenylist" rows="4" cols="40">{E(Value("publisherDenylist"))}</textarea></label>
              </div>
              <p><label class="check"><input type="checkbox" name="requireSignedRequests" id="requireSignedRequests" value="true"{(signed ? " checked" : "")}> Charge only requests signed with one of my keys</label></p>
              <button class="primary" type="submit">Save the policy</button>
            </form>
            <h2>Approvals</h2>
            {(approvalRows.Count == 0 ? "<p class=\"muted\">Nothing has asked for approval.</p>" : Table(["Publisher", "Resource", "Price", "State", "Asked", ""], approvalRows, "id=\"approvals\""))}
            """;
        return Page(context, agent, "Spending guard", body, status, "Guard");
    }

    private static async Task<IResult> SetGuardAsync(HttpContext context, AgentStore agents, ILedger ledger, ApprovalStore approvals, TimeProvider clock)
    {
        var (agent, refusal) = await PostingAgentAsync(context);
        if (agent is null)
        {
            return refusal!;
        }
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var (policy, problem) = GuardForm.Read(form);
        if (policy is null)
        {
            return await RenderGuardAsync(context, agent, ledger, approvals, clock, null, problem, 400, form);
        }
        var answer = ApiAnswer.Of(await GuardApi.ReplaceAsync(policy, agent, agents, ledger, clock, context.RequestAborted));
        return answer.Ok
            ? Results.Redirect("/agent/guard?done=saved")
            : await RenderGuardAsync(context, agent, ledger, approvals, clock, null, answer.Error, answer.Status, form);
    }

    private static async Task<IResult> DecideAsync(string approvalId, ApprovalState decision, HttpContext context, ILedger ledger, ApprovalStore approvals, TimeProvider clock)
    {
        var (agent, refusal) = await PostingAgentAsync(context);
        if (agent is null)
        {
            return refusal!;
        }
        var answer = ApiAnswer.Of(await GuardApi.DecideAsync(approvalId, agent, approvals, decision, clock, context.RequestAborted));
        return answer.Ok
            ? Results.Redirect($"/agent/guard?done={(decision == ApprovalState.Approved ? "approved" : "declined")}")
            : await RenderGuardAsync(context, agent, ledger, approvals, clock, null, answer.Error, answer.Status);
    }
}
