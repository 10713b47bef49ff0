using System.Text.Json.Nodes;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Rails;

public enum ObservationKind
{
    /// <summary>
    /// The payment is where the rail put it, with <see cref="DepositObservation.Confirmations"/> of the rail's finality (its
    /// block re-read this pass, on a chain); credited once final. Without a <see cref="DepositObservation.Payment"/> but with
    /// <see cref="DepositObservation.Paid"/>, it is a request the rail names (a Checkout Session) reported paid — or, when no
    /// deposit has that name, money that arrived for no deposit here (held in suspense).
    /// </summary>
    Seen,

    /// <summary>Reported by someone other than the rail's watcher (a settlement's receipt): recorded at its depth, credited only by the watcher.</summary>
    Reported,

    /// <summary>The block that held the payment is no longer on the chain, and the payment was not found elsewhere.</summary>
    Gone,

    /// <summary>A request nobody paid in time (an expired session or invoice).</summary>
    Expired,

    /// <summary>A request the rail refused, or a payment that cannot be credited.</summary>
    Failed,

    /// <summary>Money of a credited deposit taken back through the rail (a refund, a chargeback) or given back (a won dispute): <see cref="DepositObservation.Reversal"/>.</summary>
    Reversed,

    /// <summary>Something learned about a deposit that does not move it (a failed look-up), kept with its evidence.</summary>
    Noted,
}

/// <summary>Where one payment stands now, with the evidence.</summary>
/// <param name="ExternalId">The rail's unique name of the payment (<c>&lt;tx&gt;#&lt;place among its logs&gt;</c> on EVM chains, a session id): the credit's key.</param>
/// <param name="Confirmations">k of the rail's <see cref="RailFinality.Required"/>; 1 at a final commitment or for an immediate rail.</param>
/// <param name="Block">Where the rail put it (block or slot and its hash), re-read this pass; null on rails without blocks.</param>
/// <param name="Payment">What was paid, to whom; null when the pass only re-confirmed a deposit the store knows, or the rail names a request.</param>
/// <param name="Note">Why, in words, for a payment gone or refused.</param>
public sealed record DepositObservation(
    ObservationKind Kind,
    string ExternalId,
    int Confirmations,
    ChainPosition? Block = null,
    SeenPayment? Payment = null,
    string? Note = null)
{
    /// <summary>The deposit this is about when the rail knows it by our id (a request not named by the rail yet).</summary>
    public long? DepositId { get; init; }

    /// <summary>What the rail says was paid for a request (a session's amount total): credited instead of what was asked.</summary>
    public Micros? Paid { get; init; }

    /// <summary>The rail's evidence as it should be stored; null to store what the observation says of itself.</summary>
    public JsonObject? Evidence { get; init; }

    /// <summary>For <see cref="ObservationKind.Reversed"/>: the movement back, under the rail's key for it.</summary>
    public Reversal? Reversal { get; init; }
}

/// <summary>Where a rail put a payment: a block number (or slot) and its hash.</summary>
public sealed record ChainPosition(long Number, string Hash);

/// <param name="Remainder">Atomic units below one micro, kept as evidence and never credited.</param>
/// <param name="TransactionHash">The transaction (signature, payment hash) that paid.</param>
/// <param name="LogIndex">The log's index in its block (evidence; it changes when the transaction is mined again).</param>
/// <param name="LogPosition">The payment's place within its transaction: with the transaction hash, the payment's name.</param>
/// <param name="Convertible">False when the amount is beyond what micros hold: the deposit fails rather than credit a wrong amount.</param>
public sealed record SeenPayment(
    long AgentId,
    string Address,
    string Token,
    string TokenAmount,
    Micros Amount,
    string Remainder,
    string TransactionHash,
    long? LogIndex,
    int LogPosition,
    bool Convertible = true);

/// <summary>A movement back of a credited deposit's money, keyed by the rail's id for it; <see cref="Ledger.TransferKinds"/> says which way it goes.</summary>
public sealed record Reversal(string Key, string Kind, Micros Amount, string Reference);
