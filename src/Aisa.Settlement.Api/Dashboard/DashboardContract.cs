using System.Text.Json.Nodes;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Api.Dashboard;

// What the console's page scripts read from /dashboard/api (the operator's cookie): the same facts its pages show.

public sealed record DepositTallyView(string Rail, string State, long Count, Micros Amount);

public sealed record CountAndAmount(long Count, Micros Amount);

public sealed record OpenPayoutsView(long Count, Micros Amount, long AwaitingApproval);

public sealed record ChargeMinuteView(DateTimeOffset Minute, long Charges, Micros Amount);

/// <param name="Head">The block (or slot, or settle index) the job's last pass reached, where it reports one.</param>
public sealed record JobHealthView(string Job, DateTimeOffset? LastSuccessAt, double? LagSeconds, long? Head, string? LastOutcome, long FailuresLastDay);

public sealed record OverviewView(IReadOnlyList<DepositTallyView> Deposits, CountAndAmount CreditedToday, OpenPayoutsView OpenPayouts,
    IReadOnlyList<ChargeMinuteView> ChargesPerMinute, IReadOnlyList<JobHealthView> Jobs);

/// <param name="Amount">What was paid, or else what was asked, as the balance text of the pages.</param>
/// <param name="Evidence">The transaction, block or reference, in words.</param>
/// <param name="Finality">depth (k/N), at &lt;commitment&gt;, or when settled.</param>
/// <param name="LatestEvidence">The evidence of the deposit's last state change (on the Confirmations page).</param>
public sealed record ConsoleDepositView(long Id, string Rail, string State, int Confirmations, int ConfirmationsRequired, string? Amount, long? AgentId, string Evidence,
    string UpdatedAt, string Finality, JsonNode? LatestEvidence);

public sealed record ConsoleDepositsView(IReadOnlyList<ConsoleDepositView> Deposits);

public sealed record WatcherView(
    string Job,
    string? Rail,
    string Purpose,
    string Schedule,
    double IntervalSeconds,
    bool Paused,
    bool RunRequested,
    DateTimeOffset? LastStartedAt,
    DateTimeOffset? LastEndedAt,
    string? LastOutcome,
    string? LastError,
    string? LastInstance,
    int FailuresInARow,
    long FailuresLastDay,
    DateTimeOffset? LastSuccessAt,
    double? LagSeconds,
    bool Current,
    long? Head,
    JsonNode? Summary,
    string? LeaseHeldBy);

public sealed record ConfirmationsView(IReadOnlyList<WatcherView> Watchers, IReadOnlyList<ConsoleDepositView> Deposits);
