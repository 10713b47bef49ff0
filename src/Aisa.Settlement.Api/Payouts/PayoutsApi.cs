using System.Globalization;
using System.Text.Json.Nodes;
using Aisa.Settlement.Api.Auth;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Operator;
using Aisa.Settlement.Money;
using Aisa.Settlement.Payouts;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage.Idempotency;
using Aisa.Settlement.Storage.Jobs;
using Aisa.Settlement.Storage.Payouts;
using Hangfire;

namespace Aisa.Settlement.Api.Payouts;

public sealed record PayoutSettingsRequest(string? Rail, string? Destination, Micros? MinimumAmount);

public sealed record PayoutSettingsView(string Rail, string Destination, Micros MinimumAmount, DateTimeOffset UpdatedAt)
{
    public string Currency => "USD";

    public static PayoutSettingsView Of(PayoutSettings settings) => new(settings.Rail, settings.Destination, settings.Minimum, settings.UpdatedAt);
}

public sealed record PayoutView(long Id, string State, Micros Amount, string Rail, string Destination, string? Reference, int Confirmations, int ConfirmationsRequired,
    JsonNode? Evidence, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public string Currency => "USD";

    public static PayoutView Of(Payout payout) => new(payout.Id, payout.State.ToWire(), payout.Amount, payout.Rail, payout.Destination, payout.Reference,
        payout.Confirmations, payout.ConfirmationsRequired, JsonNode.Parse(payout.Evidence), payout.CreatedAt, payout.UpdatedAt);
}

public sealed record PayoutSettingsResponse(PayoutSettingsView PayoutSettings);

public sealed record PayoutsPage(IReadOnlyList<PayoutView> Payouts);

/// <summary>A state change of a deposit or a payout, with what it rests on; <c>confirmations</c> for deposits.</summary>
public sealed record TransitionView(string? From, string To, JsonNode? Evidence, DateTimeOffset CreatedAt)
{
    public int? Confirmations { get; init; }
}

public sealed record PayoutDetail(PayoutView Payout, long PublisherId, string LedgerKey, IReadOnlyList<TransitionView> Transitions);

public sealed record PayoutRunResponse(string Job, string Message)
{
    public bool Success => true;
}

/// <param name="Result">approved or cancelled.</param>
public sealed record PayoutDecisionResponse(string Result, PayoutView Payout)
{
    public bool Success => true;
}

/// <summary>
/// Payouts: a publisher's payout settings and payouts (session), and the operator's payout run, approvals and cancels
/// (<c>X-AISA-Operator-Key</c>). Money moves only through <see cref="PayoutProcessor"/>.
/// </summary>
public static class PayoutsApi
{
    public static IEndpointRouteBuilder MapPayoutsApi(this IEndpointRouteBuilder endpoints)
    {
        var publisher = endpoints.MapGroup("/api/publisher").WithTags("Publisher");
        publisher.MapGet("/payout-settings", SettingsAsync).RequirePublisherSession()
            .WithSummary("The rail and destination the publisher is paid on, and the least it is paid at once.").Answers<PayoutSettingsResponse>(200).Refuses(401, 404);
        publisher.MapPut("/payout-settings", SaveSettingsAsync).RequirePublisherSession()
            .WithSummary("Chooses the payout rail and destination (checked with the rail) and the minimum.").Takes<PayoutSettingsRequest>().Answers<PayoutSettingsResponse>(200).Refuses(400, 401);
        publisher.MapGet("/payouts", PublisherPayoutsAsync).RequirePublisherSession()
            .WithSummary("The publisher's payouts, newest first (state=, rail=, limit=, before=).").Answers<PayoutsPage>(200).Refuses(400, 401);

        var operators = endpoints.MapGroup("/api/operator").WithTags("Operator").AddEndpointFilter(OperatorApi.RequireOperatorKeyAsync).CalledWith(Http.ApiDocument.OperatorKey);
        operators.MapGet("/payouts", OperatorPayoutsAsync)
            .WithSummary("Every publisher's payouts, newest first (publisherId=, state=, rail=, limit=, before=).").Answers<PayoutsPage>(200).Refuses(400, 401);
        operators.MapGet("/payouts/{payoutId}", PayoutAsync)
            .WithSummary("A payout with its ledger key and every state change with its evidence.").Answers<PayoutDetail>(200).Refuses(401, 404);
        operators.MapPost("/payouts/run", RunAsync).WithSummary("Starts a payout run now (202).").Answers<PayoutRunResponse>(202).Refuses(401, 409);
        operators.MapPost("/payouts/{payoutId}/approve", (string payoutId, PayoutStore payouts, PayoutProcessor processor, CancellationToken cancellationToken) =>
                DecideAsync(payoutId, payouts, (payout, token) => processor.ApproveAsync(payout, "operator-api", token), "approved", cancellationToken))
            .WithSummary("Approves a payout above Payouts:ApprovalThreshold.").Answers<PayoutDecisionResponse>(200).Refuses(401, 404, 409);
        operators.MapPost("/payouts/{payoutId}/cancel", (string payoutId, PayoutStore payouts, PayoutProcessor processor, CancellationToken cancellationToken) =>
                DecideAsync(payoutId, payouts, (payout, token) => processor.CancelAsync(payout, "operator-api", token), "cancelled", cancellationToken))
            .WithSummary("Cancels a payout not yet sent: its amount returns to the publisher's earnings.").Answers<PayoutDecisionResponse>(200).Refuses(401, 404, 409);
        return endpoints;
    }

    private static async Task<IResult> SettingsAsync(HttpRequest request, PayoutStore payouts, CancellationToken cancellationToken) =>
        (await PayoutSettingsOfAsync(request.HttpContext.SessionPublisher().Id, payouts, cancellationToken)).ToResult();

    /// <summary>A publisher's payout settings, as the API and the publisher dashboard both read them.</summary>
    internal static async Task<StoredResponse> PayoutSettingsOfAsync(long publisherId, PayoutStore payouts, CancellationToken cancellationToken) =>
        await payouts.SettingsAsync(publisherId, cancellationToken) is { } settings
            ? ApiResponses.Json(200, new PayoutSettingsResponse(PayoutSettingsView.Of(settings)))
            : ApiResponses.Error(404, "payout_settings_not_set", "No payout rail is chosen yet: PUT /api/publisher/payout-settings {rail, destination, minimumAmount}.");

    private static async Task<IResult> SaveSettingsAsync(HttpRequest request, PayoutStore payouts, IRailRegistry rails, PayoutOptions options, CancellationToken cancellationToken)
    {
        var body = await ApiJson.ReadAsync<PayoutSettingsRequest>(request, cancellationToken);
        return (body.Value is not { } input
            ? ApiResponses.Error(400, "invalid_request", body.Problem!)
            : await SavePayoutSettingsAsync(request.HttpContext.SessionPublisher().Id, input, payouts, rails, options, cancellationToken)).ToResult();
    }

    /// <summary>The rails this gateway pays publishers on, by name.</summary>
    internal static IReadOnlyList<string> PayoutRails(IRailRegistry rails) =>
        [.. rails.All.OfType<IPayoutRail>().Select(r => r.Id.Value).Order(StringComparer.Ordinal)];

    /// <summary>Chooses a publisher's payout rail, destination (checked with the rail) and minimum, as the API and the publisher dashboard both do it.</summary>
    internal static async Task<StoredResponse> SavePayoutSettingsAsync(long publisherId, PayoutSettingsRequest input, PayoutStore payouts, IRailRegistry rails, PayoutOptions options,
        CancellationToken cancellationToken)
    {
        var payers = PayoutRails(rails);
        if (!RailId.TryParse(input.Rail, out var railId) || rails.Find(railId) is not IPayoutRail rail)
        {
            return ApiResponses.Error(400, "invalid_rail",
                payers.Count == 0 ? "No payout rail is configured on this gateway." : $"rail is one of the payout rails configured here: {string.Join(", ", payers)}.");
        }
        if (string.IsNullOrWhiteSpace(input.Destination) || input.Destination.Length > 500)
        {
            return ApiResponses.Error(400, "invalid_destination", $"destination is where {rail.Id} pays you (at most 500 characters).");
        }
        var floor = options.MinimumOn(rail.Id.Value);
        var minimum = input.MinimumAmount ?? floor;
        if (minimum < floor)
        {
            return ApiResponses.Error(400, "invalid_minimum", $"minimumAmount is at least {floor.ToAmountString()} USD on {rail.Id}.");
        }
        // Last: the rail may ask the outside world (a Lightning address's server, Stripe) whether the destination exists.
        var check = await rail.CheckDestinationAsync(input.Destination.Trim(), cancellationToken);
        if (check.Normalized is not { } destination)
        {
            return ApiResponses.Error(400, "invalid_destination", check.Problem ?? $"destination cannot be paid on {rail.Id}.");
        }
        var saved = await payouts.SaveSettingsAsync(publisherId, rail.Id.Value, destination, minimum, cancellationToken);
        return ApiResponses.Json(200, new PayoutSettingsResponse(PayoutSettingsView.Of(saved)));
    }

    private static Task<IResult> PublisherPayoutsAsync(HttpRequest request, PayoutStore payouts, CancellationToken cancellationToken) =>
        ListAsync(request, payouts, request.HttpContext.SessionPublisher().Id, cancellationToken);

    private static Task<IResult> OperatorPayoutsAsync(HttpRequest request, PayoutStore payouts, CancellationToken cancellationToken)
    {
        long? publisher = null;
        if (request.Query.TryGetValue("publisherId", out var text))
        {
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                return Task.FromResult(ApiResponses.Error(400, "invalid_request", "publisherId is a publisher's id.").ToResult());
            }
            publisher = id;
        }
        return ListAsync(request, payouts, publisher, cancellationToken);
    }

    private static async Task<IResult> ListAsync(HttpRequest request, PayoutStore payouts, long? publisher, CancellationToken cancellationToken)
    {
        var (limit, before, problem) = ApiQuery.ReadPage(request, "before is the id of the last payout of the previous page.");
        PayoutState? state = null;
        if (request.Query.TryGetValue("state", out var stateText))
        {
            if (PayoutStates.TryParse(stateText, out var parsed))
            {
                state = parsed;
            }
            else
            {
                problem ??= $"state is one of {string.Join(", ", Enum.GetValues<PayoutState>().Select(s => s.ToWire()))}.";
            }
        }
        if (problem is not null)
        {
            return ApiResponses.Error(400, "invalid_request", problem).ToResult();
        }
        string? rail = request.Query.TryGetValue("rail", out var railText) ? railText.ToString() : null;
        return (await PayoutsOfAsync(new PayoutFilter(publisher, rail, state, before, limit), payouts, cancellationToken)).ToResult();
    }

    /// <summary>Payouts, newest first, as the API and the publisher dashboard both list them.</summary>
    internal static async Task<StoredResponse> PayoutsOfAsync(PayoutFilter filter, PayoutStore payouts, CancellationToken cancellationToken) =>
        ApiResponses.Json(200, new PayoutsPage([.. (await payouts.ListAsync(filter, cancellationToken)).Select(PayoutView.Of)]));

    private static async Task<IResult> PayoutAsync(string payoutId, PayoutStore payouts, CancellationToken cancellationToken)
    {
        if (await FindAsync(payoutId, payouts, cancellationToken) is not { } payout)
        {
            return NotFound();
        }
        var transitions = await payouts.TransitionsAsync(payout.Id, cancellationToken);
        return ApiResponses.Json(200, new PayoutDetail(PayoutView.Of(payout), payout.PublisherId, payout.Key,
            [.. transitions.Select(t => new TransitionView(t.From?.ToWire(), t.To.ToWire(), JsonNode.Parse(t.Evidence), t.CreatedAt))])).ToResult();
    }

    /// <summary>Starts a payout run now, on whichever instance takes it (as the dashboard's "Run now" does).</summary>
    private static async Task<IResult> RunAsync(Jobs.RecurringJobs recurring, JobStore jobs, IRecurringJobManager manager, CancellationToken cancellationToken)
    {
        if (recurring.Find(PayoutProcessor.RunJob) is null)
        {
            return ApiResponses.Error(409, "no_payout_rail", "No rail of this configuration pays out: there is no payout run.").ToResult();
        }
        await jobs.RequestRunAsync(PayoutProcessor.RunJob, cancellationToken);
        manager.Trigger(PayoutProcessor.RunJob);
        return ApiResponses.Json(202, new PayoutRunResponse(PayoutProcessor.RunJob, "A payout run starts now; its payouts appear in GET /api/operator/payouts.")).ToResult();
    }

    private static async Task<IResult> DecideAsync(string payoutId, PayoutStore payouts, Func<Payout, CancellationToken, Task<Payout?>> decide, string done, CancellationToken cancellationToken)
    {
        if (await FindAsync(payoutId, payouts, cancellationToken) is not { } payout)
        {
            return NotFound();
        }
        if (await decide(payout, cancellationToken) is not { } decided)
        {
            var current = await payouts.FindAsync(payout.Id, cancellationToken) ?? payout;
            return ApiResponses.Error(409, "payout_not_open_to_decision",
                $"Payout {payout.Id} is {current.State.ToWire()}{(current.Prepared is not null ? " and already sent" : "")}: only a payout awaiting approval can be approved, and only one not yet sent cancelled.").ToResult();
        }
        return ApiResponses.Json(200, new PayoutDecisionResponse(done, PayoutView.Of(decided))).ToResult();
    }

    private static async Task<Payout?> FindAsync(string payoutId, PayoutStore payouts, CancellationToken cancellationToken) =>
        long.TryParse(payoutId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? await payouts.FindAsync(id, cancellationToken) : null;

    private static IResult NotFound() => ApiResponses.Error(404, "payout_not_found", "No payout has this id.").ToResult();
}
