using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Deposits;
using Aisa.Settlement.Storage.Jobs;
using Aisa.Settlement.Storage.Ledger;

namespace Aisa.Settlement.Api.Deposits;

/// <summary>
/// The deposit state machine: the only code that turns what a rail saw into deposit states and money. A credit
/// is one ledger transfer keyed <c>deposit:&lt;rail&gt;:&lt;payment&gt;</c> from the rail's clearing account to
/// the wallet, so however often a pass runs, crashes or races another, a payment is credited once.
/// </summary>
public sealed class DepositProcessor(DepositStore deposits, DepositAddressStore addresses, AgentStore agents, ILedger ledger, SystemAccounts accounts, IRailRegistry rails,
    Notifications.Notifier notifier, ILogger<DepositProcessor> logger) : IDepositBook
{
    private readonly ConcurrentDictionary<string, DepositAddressBook> _books = new(StringComparer.Ordinal);

    /// <summary>The credit's key, as the rail names it (<see cref="IRail.CreditKey"/>: <c>deposit:&lt;rail&gt;:&lt;payment&gt;</c> unless the contract says otherwise).</summary>
    private string LedgerKey(string rail, string externalId) =>
        RailId.TryParse(rail, out var id) && rails.Find(id) is { } known ? known.CreditKey(externalId) : $"deposit:{rail}:{externalId}";

    /// <summary>
    /// One watcher pass over a rail, a step at a time: each step's observations are applied, then the cursor is moved past
    /// them — only while <paramref name="lease"/> holds the watcher's lease, so a pass that lost it stops there.
    /// </summary>
    public async Task<JsonObject> PassAsync(IRailWatcher rail, LeaseFence lease, CancellationToken cancellationToken)
    {
        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var name = rail.Id.Value;
        var book = _books.GetOrAdd(name, railName => new DepositAddressBook(railName, addresses));
        await book.RefreshAsync(cancellationToken);
        var cursor = await deposits.CursorAsync(name, cancellationToken);
        var followed = await deposits.FollowedAsync(name, cancellationToken);
        var open = followed.Select(d => new OpenDeposit(d.Id, d.ExternalId!, d.BlockNumber is { } number ? new ChainPosition(number, d.BlockHash!) : null)).ToList();

        var known = followed.ToDictionary(d => d.ExternalId!, StringComparer.Ordinal);
        var renamed = new HashSet<long>();
        var counts = new Dictionary<DepositState, int>();
        IReadOnlyDictionary<string, long> figures = new Dictionary<string, long>();
        await foreach (var step in rail.PollAsync(new PollContext(cursor, open, book.OwnerOf), cancellationToken))
        {
            foreach (var observation in step.Observations)
            {
                if (observation is { Kind: ObservationKind.Seen or ObservationKind.Gone, Paid: null })
                {
                    if (await ApplyAsync(rail, observation, known.GetValueOrDefault(observation.ExternalId), renamed, cancellationToken, adoptEarlier: true) is { } moved)
                    {
                        counts[moved] = counts.GetValueOrDefault(moved) + 1;
                    }
                }
                else if (await BookAsync(rail.Id, observation, cancellationToken) is { } booked)
                {
                    // Money naming nobody (held in suspense), a transaction that failed: booked as any rail's observation is.
                    counts[booked.State] = counts.GetValueOrDefault(booked.State) + 1;
                }
            }
            // Only now: a pass that dies before this line is read again from the old cursor, and applies the same.
            if (!await deposits.SaveCursorAsync(name, step.Cursor, step.Head, lease, cancellationToken))
            {
                throw new LeaseLostException($"The lease of {lease.Job} was taken by another pass: this one stops before block cursor {step.Cursor}.");
            }
            figures = step.Summary;
        }
        var expired = await deposits.ExpirePendingAsync(name, cancellationToken);

        var summary = new JsonObject { ["watchedAddresses"] = book.Count, ["followed"] = open.Count };
        foreach (var (figure, value) in figures)
        {
            summary[figure] = value;
        }
        foreach (var (state, count) in counts)
        {
            summary[state.ToWire()] = count;
        }
        summary["expired"] = expired;
        // Process-wide, so an upper bound of what the pass allocated (requests served meanwhile count too).
        summary["allocatedBytes"] = GC.GetTotalAllocatedBytes() - allocatedBefore;
        return summary;
    }

    /// <summary>Applies one observation; returns the state the deposit moved to, or null if nothing changed.</summary>
    /// <param name="followed">The deposit as this pass loaded it, when it is one the watcher follows; otherwise it is looked up.</param>
    /// <param name="renamed">Deposits this pass adopted under a new name: their earlier name's observations are stale.</param>
    /// <param name="adoptEarlier">A watcher's pass: a payment new to the store may be a deposit an earlier build named otherwise.</param>
    private async Task<DepositState?> ApplyAsync(IRail rail, DepositObservation seen, Deposit? followed, HashSet<long> renamed, CancellationToken cancellationToken,
        bool adoptEarlier = false)
    {
        var name = rail.Id.Value;
        var required = rail.Finality.Required;
        if (followed is not null && renamed.Contains(followed.Id))
        {
            return null;
        }
        var deposit = followed ?? await deposits.FindByExternalIdAsync(name, seen.ExternalId, cancellationToken);
        var evidence = seen.Evidence ?? EvidenceOf(seen, required);
        if (deposit is null && adoptEarlier && seen.Payment is { } named)
        {
            // Recorded by an earlier build under the block-wide log index: adopted under this name before anything else.
            var (adopted, ambiguous) = await deposits.AdoptEarlierNamedAsync(name, PaymentOf(seen, named), cancellationToken);
            if (ambiguous)
            {
                logger.LogError("Payment {Payment} on {Rail} may be one of several deposits recorded before payments were named by their place in the transaction: nothing recorded, resolve it by hand.",
                    seen.ExternalId, name);
                return null;
            }
            if (adopted is not null)
            {
                renamed.Add(adopted.Id);
                deposit = adopted;
            }
        }

        if (seen.Kind == ObservationKind.Gone)
        {
            return deposit is { State: DepositState.Detected or DepositState.Confirming }
                && await deposits.MoveAsync(deposit, DepositState.Reorged, 0, evidence.ToJsonString(), cancellationToken)
                ? DepositState.Reorged
                : null;
        }

        // Where the deposit stands before the credit, which needs the depth and the re-read block hash.
        var onChain = seen.Confirmations <= 1 ? DepositState.Detected : DepositState.Confirming;
        DepositState? moved = null;
        if (deposit is null)
        {
            if (seen.Payment is not { } payment)
            {
                return null;
            }
            var refused = !payment.Convertible ? "the amount is beyond what the ledger holds"
                : !payment.Amount.IsPositive ? "the amount is below one micro-dollar"
                : null;
            var state = refused is null ? onChain : DepositState.Failed;
            deposit = await deposits.RecordPaymentAsync(name, PaymentOf(seen, payment),
                state, seen.Confirmations, required, (refused is null ? evidence : With(evidence, "refused", refused)).ToJsonString(), cancellationToken);
            moved = deposit.State;
        }
        else if (deposit.State == DepositState.Reorged || (deposit.State.IsOpen() && deposit.BlockHash != seen.Block?.Hash))
        {
            // Mined again after a reorganisation, in this block.
            if (seen.Block is { } block
                && await deposits.MoveAsync(deposit, onChain, seen.Confirmations, With(evidence, "minedAgain", true).ToJsonString(), cancellationToken, (block.Number, block.Hash, seen.Payment?.LogIndex)))
            {
                moved = onChain;
            }
            deposit = await deposits.FindAsync(deposit.Id, cancellationToken);
        }
        else if (deposit.State is DepositState.Detected or DepositState.Confirming && deposit.Confirmations != seen.Confirmations)
        {
            if (await deposits.MoveAsync(deposit, onChain, seen.Confirmations, evidence.ToJsonString(), cancellationToken))
            {
                moved = onChain;
            }
            deposit = await deposits.FindAsync(deposit.Id, cancellationToken);
        }
        else if (deposit.State == DepositState.Credited && deposit.BlockHash != seen.Block?.Hash)
        {
            logger.LogError("Credited deposit {Deposit} on {Rail} is now in block {Block} {Hash}, not the block it was credited in: a reorganisation deeper than {Required} confirmations.",
                deposit.Id, name, seen.Block?.Number, seen.Block?.Hash, required);
        }

        if (deposit is { State: DepositState.Detected or DepositState.Confirming } && seen.Confirmations >= required && deposit.BlockHash == seen.Block?.Hash)
        {
            await CreditAsync(name, deposit, seen.ExternalId, seen.Confirmations, evidence, cancellationToken);
            moved = DepositState.Credited;
        }
        return moved;
    }

    public async Task<Deposit?> BookAsync(RailId railId, DepositObservation observation, CancellationToken cancellationToken)
    {
        var rail = rails.Find(railId) ?? throw new InvalidOperationException($"No rail {railId} is registered.");
        var name = railId.Value;
        var deposit = observation.DepositId is { } id ? await deposits.FindAsync(id, cancellationToken) : null;
        switch (observation.Kind)
        {
            case ObservationKind.Seen when observation.Payment is null && observation.Paid is { } paid:
                deposit ??= await deposits.FindByExternalIdAsync(name, observation.ExternalId, cancellationToken);
                if (deposit is null)
                {
                    return await HoldUnattributedAsync(name, observation.ExternalId, paid, observation.Evidence ?? [], cancellationToken);
                }
                if (deposit.State == DepositState.Pending)
                {
                    // A request the rail named when it was made (a Checkout Session), now paid: credited with what was paid, keyed
                    // by the rail's id, so a webhook delivered five times and the watcher that polls it credit once.
                    await CreditAsync(name, deposit, deposit.ExternalId!, 1, observation.Evidence ?? [], cancellationToken, paid);
                }
                break;
            case ObservationKind.Seen or ObservationKind.Gone:
                await ApplyAsync(rail, observation, null, [], cancellationToken);
                deposit = await deposits.FindByExternalIdAsync(name, observation.ExternalId, cancellationToken);
                break;
            case ObservationKind.Reported when observation.Payment is { } payment:
                // Someone else's word (a settlement's receipt): recorded at its depth; only the rail's watcher, re-reading the block, credits it.
                return await deposits.RecordPaymentAsync(name, PaymentOf(observation, payment), DepositState.Detected, observation.Confirmations, rail.Finality.Required,
                    (observation.Evidence ?? EvidenceOf(observation, rail.Finality.Required)).ToJsonString(), cancellationToken);
            case ObservationKind.Failed when observation.Payment is { } refused && deposit is null
                && await deposits.FindByExternalIdAsync(name, observation.ExternalId, cancellationToken) is null:
                // A payment the rail saw fail (a transaction that landed with an error): recorded as failed with its evidence, never credited.
                return await deposits.RecordPaymentAsync(name, PaymentOf(observation, refused), DepositState.Failed, observation.Confirmations, rail.Finality.Required,
                    (observation.Evidence ?? EvidenceOf(observation, rail.Finality.Required)).ToJsonString(), cancellationToken);
            case ObservationKind.Expired or ObservationKind.Failed:
                deposit ??= await deposits.FindByExternalIdAsync(name, observation.ExternalId, cancellationToken);
                if (deposit is { State: DepositState.Pending or DepositState.Detected or DepositState.Confirming })
                {
                    await deposits.MoveAsync(deposit, observation.Kind == ObservationKind.Expired ? DepositState.Expired : DepositState.Failed, 0,
                        (observation.Evidence ?? EvidenceOf(observation, rail.Finality.Required)).ToJsonString(), cancellationToken);
                }
                break;
            case ObservationKind.Noted:
                deposit ??= await deposits.FindByExternalIdAsync(name, observation.ExternalId, cancellationToken);
                if (deposit is not null)
                {
                    await deposits.NoteAsync(deposit, (observation.Evidence ?? EvidenceOf(observation, rail.Finality.Required)).ToJsonString(), cancellationToken);
                }
                break;
            case ObservationKind.Reversed when observation.Reversal is { } reversal:
                deposit ??= await deposits.FindByExternalIdAsync(name, observation.ExternalId, cancellationToken);
                if (deposit is null)
                {
                    throw new InvalidOperationException($"{reversal.Kind} {reversal.Key} on {name} names no deposit ({observation.ExternalId}).");
                }
                await TakeBackAsync(name, deposit, reversal, cancellationToken);
                return deposit;
            default:
                throw new ArgumentException($"A {observation.Kind} observation needs {(observation.Kind == ObservationKind.Reported ? "a payment" : "a reversal")}.", nameof(observation));
        }
        return deposit is null ? null : await deposits.FindAsync(deposit.Id, cancellationToken);
    }

    public async Task<Deposit> OpenAsync(RailId rail, long agentId, Micros requested, string? address, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        if (address is not null)
        {
            // The request's own address (a reference key) is watched for good as the agent's, like a derived one: a payment
            // after the request expired still credits the agent, as a deposit of its own.
            var owner = (await addresses.AddAsync([new DepositAddress(0, rail.Value, address, agentId, DepositAddress.RequestIndex, DepositAddress.RequestKey)], cancellationToken))[0];
            if (owner != agentId)
            {
                throw new InvalidOperationException($"The {rail} address {address} of a new request is stored as agent {owner}'s: not handed out.");
            }
        }
        return await deposits.CreatePendingAsync(rail.Value, agentId, requested, address, (rails.Find(rail)?.Finality.Required) ?? 1, expiresAt, cancellationToken);
    }

    public Task NameAsync(long depositId, string externalId, string? address, CancellationToken cancellationToken) =>
        deposits.AttachAsync(depositId, externalId, address, cancellationToken);

    public Task<Deposit?> FindAsync(long depositId, CancellationToken cancellationToken) => deposits.FindAsync(depositId, cancellationToken);

    public Task<Deposit?> FindAsync(RailId rail, string externalId, CancellationToken cancellationToken) => deposits.FindByExternalIdAsync(rail.Value, externalId, cancellationToken);

    public Task<IReadOnlyList<Deposit>> PendingAsync(RailId rail, CancellationToken cancellationToken) => deposits.PendingAsync(rail.Value, cancellationToken);

    public async Task HoldRequestPaymentAsync(RailId rail, string requestKey, Micros amount, string reference, CancellationToken cancellationToken) =>
        await ledger.PostAsync(new TransferRequest(requestKey, await accounts.ClearingAsync(rail.Value, cancellationToken), accounts.Suspense, amount, TransferKinds.Deposit, reference),
            cancellationToken);

    public async Task<bool> IsBookedAsync(string key, CancellationToken cancellationToken) => await ledger.FindTransferAsync(key, cancellationToken) is not null;

    /// <summary>
    /// Money that arrived on the rail for no deposit of ours: booked to suspense under the key a credit of it would
    /// have had (so it can never be credited as well), and recorded as an unattributed deposit for an operator.
    /// </summary>
    private async Task<Deposit> HoldUnattributedAsync(string rail, string externalId, Micros amount, JsonObject evidence, CancellationToken cancellationToken)
    {
        var key = LedgerKey(rail, externalId);
        var result = await ledger.PostAsync(new TransferRequest(key, await accounts.ClearingAsync(rail, cancellationToken), accounts.Suspense, amount, TransferKinds.Deposit, externalId),
            cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"Holding {key} in suspense failed: {result.Outcome}.");
        }
        var deposit = await deposits.RecordUnattributedAsync(rail, externalId, amount, key, With(evidence, "ledgerKey", key).ToJsonString(), cancellationToken);
        logger.LogWarning("Payment {Key} of {Amount} names no deposit here: held in suspense as unattributed deposit {Deposit}.", key, amount, deposit.Id);
        await notifier.NotifyAsync(Notifications.Notifier.OperatorOwner, $"deposit.unattributed:{deposit.Id}", "deposit.unattributed", new
        {
            depositId = deposit.Id,
            rail,
            amount,
            payment = externalId,
            assign = $"/dashboard/deposits/{deposit.Id}",
        });
        return deposit;
    }

    /// <summary>
    /// An operator gives an unattributed deposit to an agent: suspense → wallet under <c>assign:deposit:&lt;id&gt;</c>, so
    /// a repeat credits nothing more and a second, different assignment is refused by the ledger.
    /// </summary>
    public async Task<AssignOutcome> AssignAsync(Deposit deposit, long agentId, CancellationToken cancellationToken)
    {
        if (deposit.State != DepositState.Unattributed || deposit.Amount is not { } amount)
        {
            return AssignOutcome.NotUnattributed;
        }
        if (await agents.FindByIdAsync(agentId, cancellationToken) is not { } agent)
        {
            return AssignOutcome.NoSuchAgent;
        }
        var key = $"assign:deposit:{deposit.Id}";
        var result = await ledger.PostAsync(new TransferRequest(key, accounts.Suspense, agent.Wallet, amount, TransferKinds.Deposit, deposit.ExternalId), cancellationToken);
        if (result.Outcome == PostOutcome.KeyReusedForDifferentTransfer)
        {
            return AssignOutcome.AssignedElsewhere;
        }
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"Assigning deposit {deposit.Id} ({key}) failed: {result.Outcome}.");
        }
        var evidence = Evidence.Of(("assignedTo", agentId.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("ledgerKey", key), ("by", "operator"));
        if (!await deposits.AssignAsync(deposit, agentId, key, evidence, cancellationToken) && (await deposits.FindAsync(deposit.Id, cancellationToken))?.AgentId != agentId)
        {
            return AssignOutcome.AssignedElsewhere;
        }
        await NoticeCreditedAsync(agent, deposit.Id, deposit.Rail, result.Transfers[0]);
        return AssignOutcome.Assigned;
    }

    /// <summary>
    /// Money of a credited deposit taken back through the rail (a refund, a chargeback: wallet → clearing) or given
    /// back to us (a won dispute, a failed refund: clearing → wallet), keyed by the rail's own id, so every repeat of
    /// the news books nothing more. A take-back may leave the wallet below zero, which then pays for nothing until a
    /// top-up brings it back (said in the log).
    /// </summary>
    private async Task TakeBackAsync(string rail, Deposit deposit, Reversal movement, CancellationToken cancellationToken)
    {
        if (deposit.State != DepositState.Credited)
        {
            throw new InvalidOperationException($"Deposit {deposit.Id} is {deposit.State.ToWire()}: only a credited deposit can be taken back.");
        }
        var agent = await agents.FindByIdAsync(deposit.AgentId!.Value, cancellationToken)
            ?? throw new InvalidOperationException($"Deposit {deposit.Id} belongs to agent {deposit.AgentId}, which does not exist.");
        var clearing = await accounts.ClearingAsync(rail, cancellationToken);
        var (debit, credit) = TransferKinds.TakesBackPaidMoney(movement.Kind) ? (agent.Wallet, clearing) : (clearing, agent.Wallet);
        var result = await ledger.PostAsync(new TransferRequest(movement.Key, debit, credit, movement.Amount, movement.Kind, movement.Reference), cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"Booking {movement.Kind} {movement.Key} of deposit {deposit.Id} failed: {result.Outcome}.");
        }
        if (result.Outcome == PostOutcome.Posted)
        {
            logger.LogInformation("Deposit {Deposit}: {Kind} of {Amount} booked under {Key}.", deposit.Id, movement.Kind, movement.Amount, movement.Key);
        }
        var transfer = result.Transfers[0];
        var balance = (transfer.Debit == agent.Wallet ? transfer.DebitBalanceAfter : transfer.CreditBalanceAfter)!.Value;
        if (balance < Micros.Zero)
        {
            logger.LogWarning("Agent {Agent}'s wallet is at {Balance} after {Cause}: it pays for nothing until topped up.", deposit.AgentId, balance, movement.Reference);
        }
    }

    private async Task CreditAsync(string rail, Deposit deposit, string externalId, int confirmations, JsonObject evidence, CancellationToken cancellationToken, Micros? paid = null)
    {
        var agent = await agents.FindByIdAsync(deposit.AgentId!.Value, cancellationToken)
            ?? throw new InvalidOperationException($"Deposit {deposit.Id} belongs to agent {deposit.AgentId}, which does not exist.");
        var key = LedgerKey(rail, externalId);
        var result = await ledger.PostAsync(
            new TransferRequest(key, await accounts.ClearingAsync(rail, cancellationToken), agent.Wallet, paid ?? deposit.Amount!.Value, TransferKinds.Deposit, deposit.TransactionHash ?? externalId),
            cancellationToken);
        if (!result.Succeeded)
        {
            // Never expected: the key names one payment, and a clearing account has no balance limit.
            throw new InvalidOperationException($"Crediting deposit {deposit.Id} ({key}) failed: {result.Outcome}.");
        }
        var credited = With(evidence, "ledgerKey", key);
        credited["transferId"] = result.Transfers[0].Id;
        if (!await deposits.MoveAsync(deposit, DepositState.Credited, confirmations, credited.ToJsonString(), cancellationToken, ledgerKey: key, amount: paid))
        {
            logger.LogInformation("Deposit {Deposit} was moved by another pass while being credited; the ledger holds one credit under {Key}.", deposit.Id, key);
        }
        await NoticeCreditedAsync(agent, deposit.Id, rail, result.Transfers[0]);
    }

    /// <summary><c>deposit.credited</c> to the agent's webhook, once per deposit however many passes credit it (the key is the deposit's).</summary>
    private Task NoticeCreditedAsync(Agent agent, long depositId, string rail, Transfer credit) =>
        notifier.NotifyAsync(Notifications.Notifier.AgentOwner(agent.Id), $"deposit.credited:{depositId}", "deposit.credited", new
        {
            crawlerId = agent.Id,
            depositId,
            rail,
            amount = credit.Amount,
            balance = credit.CreditBalanceAfter,
            payment = credit.Reference,
        });

    private static DepositPayment PaymentOf(DepositObservation seen, SeenPayment payment) =>
        new(payment.AgentId, seen.ExternalId, payment.TransactionHash, payment.LogIndex, payment.Address, payment.Token,
            payment.TokenAmount, payment.Amount, seen.Block?.Number, seen.Block?.Hash, payment.LogPosition);

    private static JsonObject EvidenceOf(DepositObservation seen, int required)
    {
        var evidence = new JsonObject
        {
            ["payment"] = seen.ExternalId,
            ["blockNumber"] = seen.Block?.Number,
            ["blockHash"] = seen.Block?.Hash,
            ["confirmations"] = seen.Confirmations,
            ["confirmationsRequired"] = required,
        };
        if (seen.Payment is { } payment)
        {
            evidence["txHash"] = payment.TransactionHash;
            evidence["logIndex"] = payment.LogIndex;
            evidence["logPosition"] = payment.LogPosition;
            evidence["token"] = payment.Token;
            evidence["tokenAmount"] = payment.TokenAmount;
            evidence["belowOneMicro"] = payment.Remainder;
        }
        if (seen.Note is not null)
        {
            evidence["note"] = seen.Note;
        }
        return evidence;
    }

    private static JsonObject With(JsonObject evidence, string name, JsonNode? value)
    {
        var copy = evidence.DeepClone().AsObject();
        copy[name] = value;
        return copy;
    }
}
