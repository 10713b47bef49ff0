using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.JsonRpc;
using Aisa.Settlement.Adapters.Solana.Keys;
using Aisa.Settlement.Adapters.Solana.Rpc;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;

namespace Aisa.Settlement.Adapters.Solana;

/// <summary>
/// USDC (SPL Token) deposits on Solana into the treasury's associated token account, credited at <c>finalized</c>. An agent
/// pays with a Solana Pay reference key among the transfer's accounts — its own (one per agent, derived from the treasury
/// and its derivation index) or a top-up request's (random, one per request) — or with a memo <c>aisa:&lt;reference&gt;</c>.
/// A pass pages <c>getSignaturesForAddress</c> of the treasury's token account at <c>finalized</c> from the stored cursor
/// (the last signature applied), reads the transactions in batches, and reports each transfer into the treasury once, named
/// <c>&lt;signature&gt;:&lt;instruction&gt;</c>; then it reports what is only <c>confirmed</c> yet (shown as detected, never
/// credited) and asks for the status of every deposit still open, so one on a dropped fork is found gone.
/// </summary>
public class SolanaRail : IAddressDepositRail, ITopUpRail, IRailWatcher
{
    public static readonly RailId Rail = new("solana");

    /// <summary>How a memo names a reference: <c>aisa:&lt;reference&gt;</c>.</summary>
    public const string MemoPrefix = "aisa:";

    /// <summary>How long a top-up request waits; a payment with its reference after that is still credited, as a deposit of its own.</summary>
    public static readonly TimeSpan RequestLifetime = TimeSpan.FromHours(24);

    private const int TransactionsPerStep = 100;

    private readonly SolanaOptions _options;
    private readonly SolanaRpcClient _rpc;
    private readonly IDepositBook _book;
    private readonly TimeProvider _clock;
    private readonly byte[] _owner;
    private readonly RailToken _usdc;

    public SolanaRail(SolanaOptions options, HttpClient http, IDepositBook book, TimeProvider clock)
    {
        _options = options;
        _book = book;
        _clock = clock;
        _owner = SolanaKey.Parse(options.TreasuryOwner!);
        TreasuryTokenAccount = SolanaKey.AssociatedTokenAccount(options.TreasuryOwner!, options.UsdcMint);
        _usdc = new RailToken("USDC", options.UsdcMint, options.Decimals);
        KeyId = System.Convert.ToHexStringLower(SHA256.HashData(_owner))[..16];
        PollInterval = TimeSpan.FromSeconds(options.PollIntervalSeconds);
        _rpc = new SolanaRpcClient(http, new JsonRpcOptions
        {
            Endpoints = options.RpcUrls.Select(u => new Uri(u)).ToList(),
            Timeout = TimeSpan.FromSeconds(options.RpcTimeoutSeconds),
        });
    }

    public RailId Id => Rail;

    public RailFinality Finality { get; } = RailFinality.AtCommitment("finalized");

    public string KeyId { get; }

    public TimeSpan PollInterval { get; }

    /// <summary>The treasury's associated token account for USDC: where every deposit arrives, and what the watcher reads.</summary>
    public string TreasuryTokenAccount { get; }

    /// <summary>JSON-RPC requests sent so far (a batch counts once).</summary>
    public long RpcCalls => _rpc.Calls;

    /// <summary>The nodes, with fail-over.</summary>
    protected SolanaRpcClient Rpc => _rpc;

    protected SolanaOptions Options => _options;

    // ---------------------------------------------------------------- deposit intents

    /// <summary>
    /// The agent's own reference key: SHA-256 of the treasury owner and the derivation index. Anyone could compute it, and
    /// paying with it only ever credits that agent; a new treasury gives agents new references, and the old ones stay watched.
    /// </summary>
    public string AddressAt(long derivationIndex)
    {
        Span<byte> input = stackalloc byte[16 + 32 + 8];
        "aisa:solana:ref:"u8.CopyTo(input);
        _owner.CopyTo(input[16..]);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(input[48..], derivationIndex);
        return SolanaKey.Encode(SHA256.HashData(input));
    }

    public DepositInstructions Instructions(string address, long derivationIndex) =>
        new(Id.Value, null, _options.TreasuryOwner!, derivationIndex, [_usdc], Reference: address);

    /// <summary>A top-up request with a reference key of its own, and the Solana Pay transfer request a wallet opens.</summary>
    public async Task<RailAnswer> CreateTopUpAsync(TopUpRequest request, CancellationToken cancellationToken)
    {
        var reference = SolanaKey.Encode(RandomNumberGenerator.GetBytes(32));
        var deposit = await _book.OpenAsync(Id, request.AgentId, request.Amount, reference, _clock.GetUtcNow() + RequestLifetime, cancellationToken);
        return new RailAnswer(201, new
        {
            rail = Id.Value,
            depositId = deposit.Id,
            address = _options.TreasuryOwner,
            reference,
            mint = _options.UsdcMint,
            tokenAccount = TreasuryTokenAccount,
            decimals = _options.Decimals,
            amount = request.Amount,
            url = PayUrl(request.Amount, reference),
            expiresAt = deposit.ExpiresAt,
        });
    }

    /// <summary>
    /// The Solana Pay transfer request: <c>solana:&lt;owner&gt;?amount=…&amp;spl-token=&lt;mint&gt;&amp;reference=&lt;ref&gt;&amp;memo=…</c>,
    /// the amount in USDC (one USDC is one dollar), with as many decimals as it needs.
    /// </summary>
    public string PayUrl(Micros amount, string reference) =>
        string.Create(CultureInfo.InvariantCulture,
            $"solana:{_options.TreasuryOwner}?amount={(amount.Value / 1_000_000m).ToString("0.######", CultureInfo.InvariantCulture)}&spl-token={_options.UsdcMint}&reference={reference}&label=AISA&message={Uri.EscapeDataString("AISA wallet top-up")}&memo={Uri.EscapeDataString(MemoPrefix + reference)}");

    // ---------------------------------------------------------------- the watcher

    private sealed record Cursor(string? Signature, long Slot);

    private static Cursor? ReadCursor(string? text) =>
        text is null ? null : JsonSerializer.Deserialize<JsonObject>(text) is { } json
            ? new Cursor(json["signature"]?.GetValue<string>(), json["slot"]?.GetValue<long>() ?? 0)
            : null;

    private static string WriteCursor(Cursor cursor) => new JsonObject { ["signature"] = cursor.Signature, ["slot"] = cursor.Slot }.ToJsonString();

    public async IAsyncEnumerable<PollResult> PollAsync(PollContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var callsBefore = _rpc.Calls;
        var figures = new Dictionary<string, long>();
        var finalizedSlot = await _rpc.SlotAsync("finalized", cancellationToken);
        figures["head"] = finalizedSlot;
        var cursor = ReadCursor(context.Cursor);

        // The finalized signatures after the cursor, newest first: the oldest MaxSignaturesPerPass of them are read this pass.
        var (oldest, newest, listed) = await ListAsync(cursor?.Signature, cursor is null ? 1 : int.MaxValue, cancellationToken);
        figures["signaturesListed"] = listed;
        if (cursor is null)
        {
            // The first pass starts at the treasury's newest finalized transaction (or at its first, when it has none):
            // what came before the service is not read.
            var start = new Cursor(newest?.Signature, newest?.Slot ?? 0);
            figures["rpcCalls"] = _rpc.Calls - callsBefore;
            yield return new PollResult(WriteCursor(start), finalizedSlot, [], figures);
            yield break;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in oldest.Chunk(TransactionsPerStep))
        {
            var transactions = await _rpc.TransactionsAsync(step.Select(s => s.Signature).ToList(), "finalized", cancellationToken);
            var observations = new List<DepositObservation>();
            for (var i = 0; i < step.Length; i++)
            {
                var json = transactions[i]
                    // Listed at finalized, so the node has it: one that cannot show it now (another node behind a balancer) is asked again next pass.
                    ?? throw new JsonRpcException($"The node listed transaction {step[i].Signature} as finalized but does not return it: read again next pass.");
                observations.AddRange(Observe(SolanaTransaction.Read(json), finalized: true, context, figures));
                seen.Add(step[i].Signature);
            }
            figures["transactionsRead"] = figures.GetValueOrDefault("transactionsRead") + step.Length;
            figures["rpcCalls"] = _rpc.Calls - callsBefore;
            cursor = new Cursor(step[^1].Signature, step[^1].Slot);
            yield return new PollResult(WriteCursor(cursor), finalizedSlot, observations, new Dictionary<string, long>(figures));
        }

        // What is confirmed but not finalized yet: shown as detected, credited only when a later pass reads it finalized.
        var later = new List<DepositObservation>();
        var confirmed = await _rpc.SignaturesAsync(TreasuryTokenAccount, "confirmed", null, newest?.Signature ?? cursor.Signature, SolanaRpcClient.SignaturesPage, cancellationToken);
        var unfinalized = confirmed.Where(s => s.Slot > finalizedSlot).Select(s => s.Signature).ToList();
        if (unfinalized.Count > 0)
        {
            var transactions = await _rpc.TransactionsAsync(unfinalized, "confirmed", cancellationToken);
            foreach (var json in transactions.OfType<JsonObject>())
            {
                var transaction = SolanaTransaction.Read(json);
                later.AddRange(Observe(transaction, finalized: false, context, figures));
                seen.Add(transaction.Signature);
            }
        }
        figures["confirmedOnly"] = unfinalized.Count;

        // Every deposit still open whose transaction this pass did not see: gone if the node no longer knows it (a dropped fork).
        var open = context.Open.Select(d => (Deposit: d, Signature: d.ExternalId.Split(':')[0])).Where(d => !seen.Contains(d.Signature)).ToList();
        if (open.Count > 0)
        {
            var statuses = await _rpc.StatusesAsync(open.Select(d => d.Signature).ToList(), cancellationToken);
            for (var i = 0; i < open.Count; i++)
            {
                if (statuses[i] is null)
                {
                    later.Add(new DepositObservation(ObservationKind.Gone, open[i].Deposit.ExternalId, 0, Note: "the node no longer knows the transaction: its fork was dropped before it was finalized"));
                }
            }
        }
        figures["rpcCalls"] = _rpc.Calls - callsBefore;
        yield return new PollResult(WriteCursor(cursor), finalizedSlot, later, figures);
    }

    /// <summary>
    /// The finalized signatures newer than <paramref name="until"/>, paged newest first to the end; only the oldest
    /// <paramref name="keep"/> are kept (a long catch-up lists everything, and reads only what one pass may read).
    /// </summary>
    private async Task<(IReadOnlyList<SignatureInfo> Oldest, SignatureInfo? Newest, long Listed)> ListAsync(string? until, int keep, CancellationToken cancellationToken)
    {
        keep = Math.Min(keep, _options.MaxSignaturesPerPass);
        var kept = new Queue<SignatureInfo>();
        SignatureInfo? newest = null;
        string? before = null;
        long listed = 0;
        while (true)
        {
            var page = await _rpc.SignaturesAsync(TreasuryTokenAccount, "finalized", before, until, SolanaRpcClient.SignaturesPage, cancellationToken);
            newest ??= page.FirstOrDefault();
            foreach (var signature in page)
            {
                kept.Enqueue(signature);
                if (kept.Count > keep)
                {
                    kept.Dequeue();
                }
            }
            listed += page.Count;
            if (page.Count < SolanaRpcClient.SignaturesPage || (until is null && keep == 1))
            {
                break;
            }
            before = page[^1].Signature;
        }
        return ([.. kept.Reverse()], newest, listed);
    }

    /// <summary>What one transaction tells: each transfer into the treasury, attributed by its reference or memo.</summary>
    private IEnumerable<DepositObservation> Observe(SolanaTransaction transaction, bool finalized, PollContext context, Dictionary<string, long> figures)
    {
        var ours = transaction.Transfers.Where(t => t.Destination == TreasuryTokenAccount && (t.Mint is null || t.Mint == _options.UsdcMint)).ToList();
        if (ours.Count == 0)
        {
            yield break;
        }
        var arrived = transaction.BalanceChange(TreasuryTokenAccount, _options.UsdcMint);
        var claimed = ours.Aggregate(BigInteger.Zero, (sum, t) => sum + t.Amount);
        foreach (var transfer in ours)
        {
            var (reference, how) = ReferenceOf(transfer, context);
            var agent = reference is null ? null : context.OwnerOf(reference);
            var externalId = $"{transaction.Signature}:{transfer.Index}";
            var evidence = new JsonObject
            {
                ["signature"] = transaction.Signature,
                ["instruction"] = transfer.Index,
                ["slot"] = transaction.Slot,
                ["commitment"] = finalized ? "finalized" : "confirmed",
                ["mint"] = _options.UsdcMint,
                ["tokenAccount"] = TreasuryTokenAccount,
                ["tokenAmount"] = transfer.Amount.ToString(CultureInfo.InvariantCulture),
                ["reference"] = reference,
                ["attributedBy"] = how,
                ["memo"] = transfer.Memo,
            };
            if (transaction.Error is { } error)
            {
                // It landed and paid its fee, and moved no token: never credited.
                figures["failedTransfers"] = figures.GetValueOrDefault("failedTransfers") + 1;
                if (finalized && agent is { } owner)
                {
                    evidence["error"] = error.DeepClone();
                    yield return new DepositObservation(ObservationKind.Failed, externalId, 1, Position(transaction), PaymentOf(transaction, transfer, owner, reference!, Convert(transfer.Amount)),
                        Note: "the transaction failed") { Evidence = evidence };
                }
                continue;
            }
            var conversion = Convert(transfer.Amount);
            if (arrived != claimed || conversion is null)
            {
                // What the instructions say and what the treasury's balance did disagree (or the amount is beyond micros): credited never, reported always.
                figures["refused"] = figures.GetValueOrDefault("refused") + 1;
                evidence["balanceChange"] = arrived.ToString(CultureInfo.InvariantCulture);
                evidence["transfersClaim"] = claimed.ToString(CultureInfo.InvariantCulture);
                if (finalized && agent is { } refusedOwner)
                {
                    yield return new DepositObservation(ObservationKind.Failed, externalId, 1, Position(transaction),
                        PaymentOf(transaction, transfer, refusedOwner, reference!, conversion), Note: "the treasury's balance does not show the transfers") { Evidence = evidence };
                }
                continue;
            }
            if (agent is { } payer)
            {
                figures["attributed"] = figures.GetValueOrDefault("attributed") + 1;
                yield return new DepositObservation(ObservationKind.Seen, externalId, finalized ? 1 : 0, Position(transaction),
                    PaymentOf(transaction, transfer, payer, reference!, conversion)) { Evidence = evidence };
            }
            else if (finalized)
            {
                // Money that names nobody: held in suspense for an operator, and only once it is final.
                figures["unattributed"] = figures.GetValueOrDefault("unattributed") + 1;
                yield return new DepositObservation(ObservationKind.Seen, externalId, 1, Position(transaction)) { Paid = conversion.Value.Micros, Evidence = evidence };
            }
        }
    }

    /// <summary>A reference key among the transfer's accounts that names an agent or a request, else the one its memo names.</summary>
    private static (string? Reference, string? How) ReferenceOf(TokenTransfer transfer, PollContext context)
    {
        foreach (var signer in transfer.Signers)
        {
            if (context.OwnerOf(signer) is not null)
            {
                return (signer, "reference");
            }
        }
        if (transfer.Memo is { } memo && memo.StartsWith(MemoPrefix, StringComparison.Ordinal))
        {
            var named = memo[MemoPrefix.Length..].Trim();
            if (SolanaKey.TryParse(named, out _) && context.OwnerOf(named) is not null)
            {
                return (named, "memo");
            }
        }
        return (null, null);
    }

    private TokenConversion? Convert(BigInteger amount) => TokenUnits.TryToMicros(amount, _options.Decimals, out var conversion) ? conversion : null;

    // A slot has no hash of its own to compare here: the slot names where the transaction landed (one landing per signature).
    private static ChainPosition Position(SolanaTransaction transaction) => new(transaction.Slot, transaction.Slot.ToString(CultureInfo.InvariantCulture));

    private SeenPayment PaymentOf(SolanaTransaction transaction, TokenTransfer transfer, long agent, string reference, TokenConversion? conversion) =>
        new(agent, reference, _options.UsdcMint, transfer.Amount.ToString(CultureInfo.InvariantCulture), conversion?.Micros ?? Micros.Zero,
            conversion?.Remainder.ToString(CultureInfo.InvariantCulture) ?? "0", transaction.Signature, null, Position(transfer.Index), conversion is not null);

    /// <summary>The transfer's place in its transaction as one number: instruction i is i, inner instruction j of i is (i + 1) × 1000 + j.</summary>
    private static int Position(string index) =>
        index.Split('.') is [var top, var inner]
            ? (int.Parse(top, CultureInfo.InvariantCulture) + 1) * 1000 + int.Parse(inner, CultureInfo.InvariantCulture)
            : int.Parse(index, CultureInfo.InvariantCulture);
}
