using Aisa.Settlement.Adapters.JsonRpc;
using System.Globalization;
using Aisa.Settlement.Adapters.Evm.Addresses;
using Aisa.Settlement.Adapters.Evm.Rpc;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;

namespace Aisa.Settlement.Adapters.Evm;

/// <summary>
/// USDC (or any ERC-20) deposits on one EVM chain: Base, Polygon and BNB Smart Chain share this code path and
/// differ only by configuration. Each pass reads the head, scans <c>Transfer</c> logs of the configured tokens
/// from the cursor in bounded ranges (re-scanning the last unconfirmed blocks, where a reorganised transfer
/// may come back), matches recipients against the watched addresses, and re-reads the hash of every block
/// that holds an open deposit, so a credit is never decided on a block that left the chain.
/// </summary>
public class EvmRail : IAddressDepositRail, IRailWatcher
{
    private const int HashesPerBatch = 100;

    private readonly EvmChainOptions _options;
    private readonly EvmRpcClient _rpc;
    private readonly DepositAddresses _addresses;
    private readonly Dictionary<string, RailToken> _tokens;
    private bool _chainIdChecked;

    public EvmRail(RailId rail, EvmChainOptions options, HttpClient http)
    {
        Id = rail;
        _options = options;
        ConfirmationsRequired = options.ConfirmationsFor(rail.Value);
        Finality = RailFinality.Depth(ConfirmationsRequired);
        PollInterval = TimeSpan.FromSeconds(options.PollIntervalSeconds);
        _addresses = new DepositAddresses(ExtendedPublicKey.Parse(options.Xpub!));
        KeyId = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(options.Xpub!.Trim())))[..16];
        _tokens = options.Tokens.ToDictionary(
            t => EvmAddress.Parse(t.Address).ToLowerHex(),
            t => new RailToken(t.Symbol, EvmAddress.Parse(t.Address).ToString(), t.Decimals));
        _rpc = new EvmRpcClient(http, new JsonRpcOptions
        {
            Endpoints = options.RpcUrls.Select(u => new Uri(u)).ToList(),
            Timeout = TimeSpan.FromSeconds(options.RpcTimeoutSeconds),
        });
    }

    public RailId Id { get; }

    public RailFinality Finality { get; }

    public string KeyId { get; }

    public long ChainId => _options.ChainId;

    /// <summary>The chain's JSON-RPC nodes, with fail-over.</summary>
    protected EvmRpcClient Rpc => _rpc;

    public int ConfirmationsRequired { get; }

    public TimeSpan PollInterval { get; }

    /// <summary>JSON-RPC requests sent so far (a batch counts once).</summary>
    public long RpcCalls => _rpc.Calls;

    public string AddressAt(long derivationIndex) =>
        _addresses.At(checked((uint)derivationIndex)).ToLowerHex();

    public DepositInstructions Instructions(string address, long derivationIndex) =>
        new(Id.Value, _options.ChainId, EvmAddress.Parse(address).ToString(), derivationIndex, _tokens.Values.ToList());

    public async IAsyncEnumerable<PollResult> PollAsync(PollContext context, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var callsBefore = _rpc.Calls;
        await EnsureChainIdAsync(cancellationToken);
        var head = await _rpc.BlockNumberAsync(cancellationToken);
        var next = context.Cursor is null
            ? _options.StartBlock ?? head
            : long.Parse(context.Cursor, NumberStyles.None, CultureInfo.InvariantCulture);
        // The unconfirmed window is read again every pass: a transfer reorganised out of a block may be mined
        // again below the cursor, and only a new scan finds it there. A pass reads at most MaxBlocksPerPass blocks:
        // after downtime the catch-up takes several passes, each one applied and stored range by range.
        var from = Math.Max(0, Math.Min(next, head - ConfirmationsRequired + 1));
        var to = Math.Min(head, from + _options.MaxBlocksPerPass - 1);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var (logsRead, logsMatched) = (0L, 0L);
        Dictionary<string, long> Summary(long scannedTo) => new()
        {
            ["head"] = head,
            ["fromBlock"] = from,
            ["toBlock"] = scannedTo,
            ["blocksScanned"] = Math.Max(0, scannedTo - from + 1),
            ["logsRead"] = logsRead,
            ["logsMatched"] = logsMatched,
            ["rpcCalls"] = _rpc.Calls - callsBefore,
        };

        var range = (long)_options.MaxBlockRange;
        var start = from;
        while (start <= to)
        {
            var end = Math.Min(to, start + range - 1);
            IReadOnlyList<TransferLog> logs;
            try
            {
                logs = await _rpc.TransferLogsAsync(_tokens.Keys, start, end, cancellationToken);
            }
            catch (JsonRpcErrorException) when (range > 1)
            {
                // "query returned more than 10000 results", "block range too large": a smaller range answers.
                range = Math.Max(1, range / 2);
                continue;
            }
            logsRead += logs.Count;
            var ours = logs.Select(log => (Log: log, Agent: context.OwnerOf(log.To))).Where(m => m.Agent is not null).Select(m => (m.Log, Agent: m.Agent!.Value)).ToList();
            logsMatched += ours.Count;
            var observations = await ObserveAsync(ours, head, cancellationToken);
            seen.UnionWith(observations.Select(o => o.ExternalId));
            yield return new PollResult((end + 1).ToString(CultureInfo.InvariantCulture), head, observations, Summary(end));
            start = end + 1;
        }

        // Every open deposit this pass did not scan again: is its block still on the chain, and how deep?
        var open = context.Open.Where(o => !seen.Contains(o.ExternalId)).ToList();
        var hashes = await BlockHashesAsync(open.Select(o => o.Block!.Number), cancellationToken);
        var reread = open.Select(deposit =>
        {
            var block = deposit.Block!;
            var hash = hashes.GetValueOrDefault(block.Number);
            return hash == block.Hash
                ? new DepositObservation(ObservationKind.Seen, deposit.ExternalId, Confirmations(head, block.Number), block)
                : new DepositObservation(ObservationKind.Gone, deposit.ExternalId, 0, block, Note: hash is null
                    ? $"block {block.Number} is not on the chain (head {head})"
                    : $"block {block.Number} now has hash {hash}");
        }).ToList();
        yield return new PollResult((to + 1).ToString(CultureInfo.InvariantCulture), head, reread, Summary(to));
    }

    /// <summary>
    /// Payments to watched addresses in one scanned range, each named by its transaction and its place among that
    /// transaction's logs (read from the receipt), with its block hash read again. A block that changed while it was
    /// being read fails the step: the cursor stays before it and the next pass reads it again.
    /// </summary>
    private async Task<List<DepositObservation>> ObserveAsync(List<(TransferLog Log, long Agent)> ours, long head, CancellationToken cancellationToken)
    {
        if (ours.Count == 0)
        {
            return [];
        }
        var receipts = await _rpc.ReceiptsAsync(ours.Select(m => m.Log.TransactionHash).ToList(), cancellationToken);
        var hashes = await BlockHashesAsync(ours.Select(m => m.Log.BlockNumber), cancellationToken);
        var observations = new List<DepositObservation>(ours.Count);
        foreach (var (log, agent) in ours)
        {
            var position = receipts.GetValueOrDefault(log.TransactionHash) is { } receipt ? log.PositionIn(receipt) : null;
            if (position is null || hashes.GetValueOrDefault(log.BlockNumber) != log.BlockHash)
            {
                throw new JsonRpcException($"Block {log.BlockNumber} of {Id} changed while it was read (transaction {log.TransactionHash}): it is read again next pass.");
            }
            observations.Add(new DepositObservation(ObservationKind.Seen, ExternalId(log.TransactionHash, position.Value), Confirmations(head, log.BlockNumber),
                new ChainPosition(log.BlockNumber, log.BlockHash), Payment(log, agent, position.Value)));
        }
        return observations;
    }

    private async Task<Dictionary<long, string?>> BlockHashesAsync(IEnumerable<long> blocks, CancellationToken cancellationToken)
    {
        var hashes = new Dictionary<long, string?>();
        foreach (var chunk in blocks.Distinct().Chunk(HashesPerBatch))
        {
            foreach (var (number, hash) in await _rpc.BlockHashesAsync(chunk, cancellationToken))
            {
                hashes[number] = hash?.ToLowerInvariant();
            }
        }
        return hashes;
    }

    protected async Task EnsureChainIdAsync(CancellationToken cancellationToken)
    {
        if (_chainIdChecked)
        {
            return;
        }
        var answered = EvmRpcClient.ParseQuantity((await _rpc.CallAsync("eth_chainId", [], cancellationToken)).GetValue<string>());
        if (answered != _options.ChainId)
        {
            throw new JsonRpcException($"The JSON-RPC node of {Id} answers chain id {answered}, not the configured {_options.ChainId}: nothing is scanned.");
        }
        _chainIdChecked = true;
    }

    private SeenPayment Payment(TransferLog log, long agent, int position)
    {
        var token = _tokens[log.Token];
        var convertible = TokenUnits.TryToMicros(log.Value, token.Decimals, out var conversion);
        return new SeenPayment(
            agent, log.To, log.Token, log.Value.ToString(CultureInfo.InvariantCulture),
            convertible ? conversion.Micros : Micros.Zero,
            convertible ? conversion.Remainder.ToString(CultureInfo.InvariantCulture) : "0",
            log.TransactionHash, log.LogIndex, position, convertible);
    }

    private static int Confirmations(long head, long block) => (int)Math.Clamp(head - block + 1, 0, int.MaxValue);

    /// <summary>
    /// A payment's name: its transaction and its place among that transaction's logs, which stay the same when a
    /// reorganisation mines the transaction again in another block (its block-wide log index does not).
    /// </summary>
    public static string ExternalId(string transactionHash, int positionInTransaction) =>
        string.Create(CultureInfo.InvariantCulture, $"{transactionHash}#{positionInTransaction}");
}
