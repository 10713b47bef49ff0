using System.Text.Json.Nodes;
using Aisa.Settlement.Api.Deposits;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Payouts;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage.Jobs;
using Aisa.Settlement.Storage.Ledger;
using Aisa.Settlement.Storage.Payouts;
using Aisa.Settlement.Storage.Publishers;
using Hangfire;

namespace Aisa.Settlement.Api.Payouts;

/// <summary>
/// The payout state machine: the only code that moves publishers' earnings out. A payout moves the publisher's whole
/// available payable into <c>payouts:&lt;rail&gt;</c> under <c>payout:&lt;id&gt;</c>; confirmed, into the rail's clearing
/// account under <c>payout:&lt;id&gt;:settled</c>; failed or cancelled, back under <c>payout:&lt;id&gt;:reversed</c>. Every
/// step is keyed and every move conditional, so a pass that crashes, is repeated or races another does each once.
/// </summary>
public sealed class PayoutProcessor(PayoutStore payouts, PublisherStore publishers, ILedger ledger, SystemAccounts accounts, IRailRegistry rails, PayoutOptions options,
    IRecurringJobManager jobs, Notifications.Notifier notifier, ILogger<PayoutProcessor> logger)
{
    /// <summary>The recurring job that pays every publisher due a payout.</summary>
    public const string RunJob = "payouts:run";

    /// <summary>The recurring job that sends and tracks the payouts on <paramref name="rail"/>.</summary>
    public static string PassJob(string rail) => $"payouts:{rail}";

    /// <summary>
    /// The payout run: for each publisher with settings and no payout in flight whose payable reaches its minimum, one payout
    /// of the whole payable. Runs under the run job's lease, so two runs never overlap; a payout in flight (unique per
    /// publisher in the store) keeps a second one from moving the same money.
    /// </summary>
    public async Task<JsonObject> RunAsync(CancellationToken cancellationToken)
    {
        var (publishersSeen, created, awaiting, belowMinimum, inFlight, railMissing) = (0, 0, 0, 0, 0, 0);
        var railsToSend = new HashSet<string>(StringComparer.Ordinal);
        foreach (var settings in await payouts.AllSettingsAsync(cancellationToken))
        {
            publishersSeen++;
            if (Rail(settings.Rail) is not { } rail)
            {
                railMissing++;
                logger.LogWarning("Publisher {Publisher} is paid on {Rail}, which pays nothing in this configuration: no payout.", settings.PublisherId, settings.Rail);
                continue;
            }
            if (await payouts.HasOpenAsync(settings.PublisherId, cancellationToken))
            {
                inFlight++;
                continue;
            }
            var publisher = await publishers.FindByIdAsync(settings.PublisherId, cancellationToken)
                ?? throw new InvalidOperationException($"Payout settings name publisher {settings.PublisherId}, who does not exist.");
            // Only a payout debits a payable, and this publisher has none in flight: the balance can only grow from here.
            var available = rail.Payable(await ledger.GetBalanceAsync(publisher.Payable, cancellationToken));
            if (available < settings.Minimum)
            {
                belowMinimum++;
                continue;
            }
            var approval = options.ApprovalThresholdMicros is { } threshold && available > threshold;
            var evidence = Evidence.Of(("available", available.ToString()), ("minimum", settings.Minimum.ToString()),
                ("approvalThreshold", options.ApprovalThresholdMicros?.ToString()));
            if (await payouts.CreateAsync(settings, available, approval ? PayoutState.AwaitingApproval : PayoutState.Requested, evidence, cancellationToken) is not { } payout)
            {
                inFlight++;
                continue;
            }
            await MoveOutAsync(payout, publisher.Payable, cancellationToken);
            created++;
            if (approval)
            {
                awaiting++;
            }
            else
            {
                railsToSend.Add(payout.Rail);
            }
        }
        foreach (var rail in railsToSend)
        {
            jobs.Trigger(PassJob(rail));
        }
        return new JsonObject
        {
            ["publishers"] = publishersSeen, ["created"] = created, ["awaitingApproval"] = awaiting, ["belowMinimum"] = belowMinimum,
            ["alreadyInFlight"] = inFlight, ["railNotConfigured"] = railMissing,
        };
    }

    /// <summary>
    /// One pass over a rail's open payouts, oldest first: requested ones prepared (stored, only while <paramref name="lease"/>
    /// holds) and sent, sent ones tracked until final, failed ones reversed. A payout that cannot go on now is left for the
    /// next pass; the pass then fails, naming it, after doing the rest.
    /// </summary>
    public async Task<JsonObject> PassAsync(IPayoutRail rail, LeaseFence lease, CancellationToken cancellationToken)
    {
        var open = await payouts.OpenAsync(rail.Id.Value, cancellationToken);
        var outstanding = open.Where(p => p.Prepared is not null).Select(p => new PreparedPayout(p.Key, p.Prepared!)).ToList();
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var payout in open)
        {
            try
            {
                var reached = await AdvanceAsync(rail, payout, outstanding, lease, cancellationToken);
                counts[reached.ToWire()] = counts.GetValueOrDefault(reached.ToWire()) + 1;
                if (reached != payout.State)
                {
                    await NoticeAsync(payout.Id, reached);
                }
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not LeaseLostException)
            {
                logger.LogWarning("Payout {Payout} on {Rail} did not go on: {Error}", payout.Id, rail.Id, e.Message);
                problems.Add($"payout {payout.Id}: {e.Message}");
            }
        }
        var summary = new JsonObject { ["open"] = open.Count };
        foreach (var (state, count) in counts)
        {
            summary[state] = count;
        }
        return problems.Count == 0 ? summary : throw new PayoutPassException($"{problems.Count} of {open.Count} payouts did not go on: {string.Join("; ", problems)}");
    }

    /// <summary>An operator's approval of a payout above the threshold: it is sent next.</summary>
    public async Task<Payout?> ApproveAsync(Payout payout, string by, CancellationToken cancellationToken)
    {
        if (payout.State != PayoutState.AwaitingApproval
            || !await payouts.MoveAsync(payout, PayoutState.Requested, Evidence.Of(("approvedBy", by)), cancellationToken))
        {
            return null;
        }
        jobs.Trigger(PassJob(payout.Rail));
        return await payouts.FindAsync(payout.Id, cancellationToken);
    }

    /// <summary>
    /// An operator's cancel of a payout not yet sent: it fails, naming who cancelled, and its money goes back to the payable
    /// (a crash in between leaves it failed, and the next pass gives the money back).
    /// </summary>
    public async Task<Payout?> CancelAsync(Payout payout, string by, CancellationToken cancellationToken)
    {
        if (payout.State is not (PayoutState.AwaitingApproval or PayoutState.Requested) || payout.Prepared is not null
            || !await payouts.MoveAsync(payout, PayoutState.Failed, Evidence.Of(("cancelledBy", by)), cancellationToken))
        {
            return null;
        }
        var failed = await payouts.FindAsync(payout.Id, cancellationToken) ?? throw new InvalidOperationException($"Payout {payout.Id} vanished.");
        await NoticeAsync(payout.Id, await ReverseAsync(failed, cancellationToken));
        return await payouts.FindAsync(payout.Id, cancellationToken);
    }

    /// <summary>
    /// <c>payout.submitted</c>, <c>payout.confirmed</c> or <c>payout.failed</c> (refused, failed on the rail or cancelled; the
    /// money is back in the payable) to the publisher's webhook, once per payout and event.
    /// </summary>
    private async Task NoticeAsync(long payoutId, PayoutState reached)
    {
        var type = reached switch
        {
            PayoutState.Submitted => "payout.submitted",
            PayoutState.Confirmed => "payout.confirmed",
            PayoutState.Failed or PayoutState.Reversed or PayoutState.Cancelled => "payout.failed",
            _ => null,
        };
        if (type is null || await payouts.FindAsync(payoutId, CancellationToken.None) is not { } payout)
        {
            return;
        }
        if (type != "payout.submitted" && payout.Prepared is not null)
        {
            // Sent and settled (or failed) within one pass: the publisher still hears that it was sent, first.
            await NotifyAsync("payout.submitted");
        }
        await NotifyAsync(type);

        Task NotifyAsync(string type) => notifier.NotifyAsync(Notifications.Notifier.PublisherOwner(payout.PublisherId), $"{type}:{payout.Id}", type, new
        {
            payoutId = payout.Id,
            publisherId = payout.PublisherId,
            state = payout.State.ToWire(),
            rail = payout.Rail,
            amount = payout.Amount,
            destination = payout.Destination,
            reference = payout.Reference,
        });
    }

    private IPayoutRail? Rail(string name) => RailId.TryParse(name, out var id) ? rails.Find(id) as IPayoutRail : null;

    private async Task<PayoutState> AdvanceAsync(IPayoutRail rail, Payout payout, List<PreparedPayout> outstanding, LeaseFence lease, CancellationToken cancellationToken)
    {
        switch (payout.State)
        {
            case PayoutState.AwaitingApproval:
                return payout.State;
            case PayoutState.Failed:
                return await ReverseAsync(payout, cancellationToken);
            case PayoutState.Requested:
            {
                var publisher = await publishers.FindByIdAsync(payout.PublisherId, cancellationToken) ?? throw new InvalidOperationException($"Publisher {payout.PublisherId} vanished.");
                // Moved when the payout was made; posted again (a no-op) in case that process died in between.
                await MoveOutAsync(payout, publisher.Payable, cancellationToken);
                PreparedPayout prepared;
                try
                {
                    prepared = await rail.PrepareAsync(new PayoutOrder(payout.Key, payout.Id, payout.Destination, payout.Amount, outstanding), cancellationToken);
                }
                catch (PayoutRefusedException e)
                {
                    return await payouts.MoveAsync(payout, PayoutState.Failed, Evidence.Of(("refused", e.Message)), cancellationToken)
                        ? await ReverseAsync((await payouts.FindAsync(payout.Id, cancellationToken))!, cancellationToken)
                        : payout.State;
                }
                // Stored before it is sent: after a crash the payout resumes from this, never prepared afresh.
                if (!await payouts.MoveAsync(payout, PayoutState.Submitted, Evidence.Of(("prepared", true), ("reference", prepared.Reference)), cancellationToken,
                        prepared: prepared.State, reference: prepared.Reference, fence: lease))
                {
                    // Cancelled meanwhile (what was prepared is never sent), or this pass lost its lease to another.
                    return (await payouts.FindAsync(payout.Id, cancellationToken))?.State ?? payout.State;
                }
                outstanding.Add(prepared);
                var submitted = payout with { State = PayoutState.Submitted, Prepared = prepared.State, Reference = prepared.Reference ?? payout.Reference };
                return await ApplyAsync(rail, submitted, await rail.SendAsync(prepared, cancellationToken), cancellationToken);
            }
            case PayoutState.Submitted:
                return await ApplyAsync(rail, payout, await rail.TrackAsync(new PreparedPayout(payout.Key, payout.Prepared!), cancellationToken), cancellationToken);
            default:
                return payout.State;
        }
    }

    private async Task<PayoutState> ApplyAsync(IPayoutRail rail, Payout payout, PayoutProgress progress, CancellationToken cancellationToken)
    {
        var evidence = progress.Evidence.ToJsonString();
        var confirmations = (progress.Confirmations, progress.ConfirmationsRequired);
        switch (progress.Stage)
        {
            case PayoutStage.Confirmed:
            {
                var inFlight = await accounts.PayoutsInFlightAsync(payout.Rail, cancellationToken);
                var clearing = await accounts.ClearingAsync(payout.Rail, cancellationToken);
                await PostAsync(new TransferRequest($"{payout.Key}:settled", inFlight, clearing, payout.Amount, TransferKinds.PayoutSettlement, Reference(payout)), cancellationToken);
                await payouts.MoveAsync(payout, PayoutState.Confirmed, evidence, cancellationToken, reference: progress.Reference, confirmations: confirmations);
                logger.LogInformation("Payout {Payout} of {Amount} to publisher {Publisher} on {Rail} confirmed: {Reference}.", payout.Id, payout.Amount, payout.PublisherId, payout.Rail, progress.Reference);
                return PayoutState.Confirmed;
            }
            case PayoutStage.Failed:
                logger.LogWarning("Payout {Payout} on {Rail} failed: {Evidence}", payout.Id, payout.Rail, evidence);
                return await payouts.MoveAsync(payout, PayoutState.Failed, evidence, cancellationToken, reference: progress.Reference, confirmations: confirmations)
                    ? await ReverseAsync((await payouts.FindAsync(payout.Id, cancellationToken))!, cancellationToken)
                    : payout.State;
            default:
                if (progress.Replacement is { } replacement)
                {
                    // A stuck send re-signed: stored before it is sent, like the first.
                    var reference = replacement.Reference ?? progress.Reference;
                    if (!await payouts.MoveAsync(payout, PayoutState.Submitted, evidence, cancellationToken, prepared: replacement.State, reference: reference, confirmations: confirmations))
                    {
                        return payout.State;
                    }
                    var replaced = payout with { Prepared = replacement.State, Reference = reference, Confirmations = progress.Confirmations, ConfirmationsRequired = progress.ConfirmationsRequired };
                    return await ApplyAsync(rail, replaced, await rail.SendAsync(replacement, cancellationToken) with { Replacement = null }, cancellationToken);
                }
                if (progress.Reference != payout.Reference || progress.Confirmations != payout.Confirmations || progress.ConfirmationsRequired != payout.ConfirmationsRequired)
                {
                    await payouts.MoveAsync(payout, PayoutState.Submitted, evidence, cancellationToken, reference: progress.Reference, confirmations: confirmations);
                }
                return PayoutState.Submitted;
        }
    }

    /// <summary>The money of a failed payout back to the payable; the payout ends reversed, or cancelled when an operator cancelled it.</summary>
    private async Task<PayoutState> ReverseAsync(Payout payout, CancellationToken cancellationToken)
    {
        var publisher = await publishers.FindByIdAsync(payout.PublisherId, cancellationToken) ?? throw new InvalidOperationException($"Publisher {payout.PublisherId} vanished.");
        await MoveOutAsync(payout, publisher.Payable, cancellationToken);
        var inFlight = await accounts.PayoutsInFlightAsync(payout.Rail, cancellationToken);
        await PostAsync(new TransferRequest($"{payout.Key}:reversed", inFlight, publisher.Payable, payout.Amount, TransferKinds.PayoutReversal, Reference(payout)), cancellationToken);
        // What failed it (the rail's answer, or who cancelled) stays in the evidence the publisher sees.
        var evidence = JsonNode.Parse(payout.Evidence) as JsonObject ?? [];
        var to = evidence.ContainsKey("cancelledBy") ? PayoutState.Cancelled : PayoutState.Reversed;
        evidence["reversedTo"] = "payable";
        evidence["ledgerKey"] = $"{payout.Key}:reversed";
        await payouts.MoveAsync(payout, to, evidence.ToJsonString(), cancellationToken);
        return to;
    }

    private async Task MoveOutAsync(Payout payout, AccountId payable, CancellationToken cancellationToken)
    {
        var inFlight = await accounts.PayoutsInFlightAsync(payout.Rail, cancellationToken);
        await PostAsync(new TransferRequest(payout.Key, payable, inFlight, payout.Amount, TransferKinds.Payout, Reference(payout)), cancellationToken);
    }

    private static string Reference(Payout payout) => $"payout {payout.Id} on {payout.Rail}";

    private async Task PostAsync(TransferRequest transfer, CancellationToken cancellationToken)
    {
        var result = await ledger.PostAsync(transfer, cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"The ledger refused {transfer.IdempotencyKey}: {result.Outcome}.");
        }
    }
}
