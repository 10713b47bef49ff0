using Aisa.Settlement.Money;

namespace Aisa.Settlement.Rails;

/// <summary>
/// One payment rail (a chain, a card processor, Lightning). An adapter reads the outside world and reports what
/// it saw; it never touches the ledger: the deposit state machine decides what an observation means for money.
/// </summary>
public interface IRailAdapter
{
    /// <summary>The rail's name in the API, the ledger keys and the configuration: "base", "polygon", "bnb", …</summary>
    string Rail { get; }

    /// <summary>Confirmations after which a deposit is credited (1 for rails that settle at once).</summary>
    int ConfirmationsRequired { get; }

    /// <summary>How often the rail's watcher runs.</summary>
    TimeSpan PollInterval { get; }

    /// <summary>
    /// One bounded pass from <see cref="PollContext.Cursor"/>, a step at a time: new payments to watched addresses, and
    /// where every open deposit now stands. Each step's observations are applied and its cursor stored before the next
    /// is read, so a failure late in a long catch-up keeps what came before it; a step's cursor never passes what it
    /// observed. Throws when the outside world cannot be read; the pass goes on from the last stored cursor next time.
    /// </summary>
    IAsyncEnumerable<PollResult> PollAsync(PollContext context, CancellationToken cancellationToken);
}

/// <summary>A rail whose agents pay to an address of their own, derived from the agent's derivation index.</summary>
public interface IAddressDepositRail : IRailAdapter
{
    /// <summary>
    /// Names the key the addresses derive from now (a hash of the public key, never the key): a changed key is noticed,
    /// and the addresses of earlier keys stay watched.
    /// </summary>
    string KeyId { get; }

    string AddressAt(long derivationIndex);

    /// <summary>What an agent needs to pay to this address: <c>{rail, chainId, address, tokens}</c> for a chain.</summary>
    DepositInstructions Instructions(string address, long derivationIndex);
}

public sealed record RailToken(string Symbol, string Address, int Decimals);

public sealed record DepositInstructions(string Rail, long? ChainId, string Address, long DerivationIndex, IReadOnlyList<RailToken> Tokens);

/// <summary>A deposit that may still be credited, as the store knows it: the adapter re-checks its block.</summary>
public sealed record OpenDeposit(long Id, string ExternalId, long BlockNumber, string BlockHash);

/// <param name="Cursor">Where the last pass stopped, as the adapter wrote it; null on the first pass.</param>
/// <param name="OwnerOf">The agent a watched address belongs to (lower-case address), or null.</param>
public sealed record PollContext(string? Cursor, IReadOnlyList<OpenDeposit> Open, Func<string, long?> OwnerOf);

public enum ObservationKind
{
    /// <summary>The payment is on the chain with <see cref="DepositObservation.Confirmations"/>, its block hash re-read this pass.</summary>
    Seen,
    /// <summary>The block that held the payment is no longer on the chain, and the payment was not found elsewhere.</summary>
    Gone,
}

/// <summary>Where one payment stands now, with the evidence: its block as re-read in this pass.</summary>
/// <param name="ExternalId">The rail's unique name of the payment ("&lt;tx&gt;#&lt;place among its logs&gt;" on EVM chains): the credit's key.</param>
/// <param name="Payment">What was paid, to whom; null when the pass only re-confirmed a deposit the store knows.</param>
/// <param name="Note">Why, in words, for a payment gone or refused.</param>
public sealed record DepositObservation(
    ObservationKind Kind,
    string ExternalId,
    long BlockNumber,
    string BlockHash,
    int Confirmations,
    SeenPayment? Payment = null,
    string? Note = null);

/// <param name="Remainder">Atomic units below one micro, kept as evidence and never credited.</param>
/// <param name="LogIndex">The log's index in its block (evidence; it changes when the transaction is mined again).</param>
/// <param name="LogPosition">The log's place among its transaction's logs: with the transaction hash, the payment's name.</param>
/// <param name="Convertible">False when the amount is beyond what micros hold: the deposit fails rather than credit a wrong amount.</param>
public sealed record SeenPayment(
    long AgentId,
    string Address,
    string Token,
    string TokenAmount,
    Micros Amount,
    string Remainder,
    string TransactionHash,
    long LogIndex,
    int LogPosition,
    bool Convertible = true);

/// <summary>One step of a pass.</summary>
/// <param name="Cursor">Where the next step (or pass) starts; stored only after the observations are applied.</param>
/// <param name="Summary">Figures of the pass so far for the job history (blocks scanned, logs read, RPC calls): the last step's are the pass's.</param>
public sealed record PollResult(string Cursor, long Head, IReadOnlyList<DepositObservation> Observations, IReadOnlyDictionary<string, long> Summary);
