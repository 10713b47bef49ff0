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
public sealed class EvmRail : IAddressDepositRail
{
    private const int HashesPerBatch = 100;

    private readonly EvmChainOptions _options;
    private readonly EvmRpcClient _rpc;
    private readonly DepositAddresses _addresses;
    private readonly Dictionary<string, RailToken> _tokens;
    private bool _chainIdChecked;

    public EvmRail(string rail, EvmChainOptions options, HttpClient http)
    {
        Rail = rail;
        _options = options;
        ConfirmationsRequired = options.ConfirmationsFor(rail);
        PollInterval = TimeSpan.FromSeconds(options.PollIntervalSeconds);
        _addresses = new DepositAddresses(ExtendedPublicKey.Parse(options.Xpub!));
        KeyId = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(options.Xpub!.Trim())))[..16];
        _tokens = options.Tokens.ToDictionary(
            t => EvmAddress.Parse(t.Address).ToLowerHex(),
            t => new RailToken(t.Symbol, EvmAddress.Parse(t.Address).ToString(), t.Decimals));
        _rpc = new EvmRpcClient(http, new EvmRpcOptions
        {
            Endpoints = options.RpcUrls.Select(u => new Uri(u)).ToList(),
            Timeout = TimeSpan.FromSeconds(options.RpcTimeoutSeconds),
        });
    }

    public string Rail { get; }

    public string KeyId { get; }

    public long ChainId => _options.ChainId;

    public int ConfirmationsRequired { get; }

    public TimeSpan PollInterval { get; }

    /// <summary>JSON-RPC requests sent so far (a batch counts once).</summary>
    public long RpcCalls => _rpc.Calls;

    public string AddressAt(long derivationIndex) =>
        _addresses.At(checked((uint)derivationIndex)).ToLowerHex();

    public DepositInstructions Instructions(string address, long derivationIndex) =>
        new(Rail, _options.ChainId, EvmAddress.Parse(address).ToString(), derivationIndex, _tokens.Values.ToList());

    public async Task<PollResult> PollAsync(PollContext context, CancellationToken cancellationToken)
    {
        var callsBefore = _rpc.Calls;
        await EnsureChainIdAsync(cancellationToken);
        var head = await _rpc.BlockNumberAsync(cancellationToken);
        var next = context.Cursor is null
            ? _options.StartBlock ?? head
            : long.Parse(context.Cursor, NumberStyles.None, CultureInfo.InvariantCulture);
        // The unconfirmed window is read again every pass: a transfer reorganised out of a block may be mined
        // again below the cursor, and only a new scan finds it there.
        var from = Math.Max(0, Math.Min(next, head - ConfirmationsRequired + 1));
        var seen = new Dictionary<string, (TransferLog Log, long Agent)>(StringComparer.Ordinal);
        var logsRead = from <= head
            ? await ScanAsync(from, head, log =>
            {
                if (context.OwnerOf(log.To) is { } agent)
                {
                    seen[ExternalId(log)] = (log, agent);
                }
            }, cancellationToken)
            : 0;
        var blocks = seen.Values.Select(s => s.Log.BlockNumber)
            .Concat(context.Open.Where(o => !seen.ContainsKey(o.ExternalId)).Select(o => o.BlockNumber))
            .Distinct()
            .ToList();
        var hashes = new Dictionary<long, string?>();
        foreach (var chunk in blocks.Chunk(HashesPerBatch))
        {
            foreach (var (number, hash) in await _rpc.BlockHashesAsync(chunk, cancellationToken))
            {
                hashes[number] = hash?.ToLowerInvariant();
            }
        }

        var observations = new List<DepositObservation>();
        foreach (var (externalId, (log, agent)) in seen)
        {
            // A block replaced between the scan and the re-read: decided on the next pass, from fresh logs.
            if (hashes.GetValueOrDefault(log.BlockNumber) == log.BlockHash)
            {
                observations.Add(new DepositObservation(ObservationKind.Seen, externalId, log.BlockNumber, log.BlockHash, Confirmations(head, log.BlockNumber), Payment(log, agent)));
            }
        }
        foreach (var open in context.Open.Where(o => !seen.ContainsKey(o.ExternalId)))
        {
            var hash = hashes.GetValueOrDefault(open.BlockNumber);
            observations.Add(hash == open.BlockHash
                ? new DepositObservation(ObservationKind.Seen, open.ExternalId, open.BlockNumber, open.BlockHash, Confirmations(head, open.BlockNumber))
                : new DepositObservation(ObservationKind.Gone, open.ExternalId, open.BlockNumber, open.BlockHash, 0, Note: hash is null
                    ? $"block {open.BlockNumber} is not on the chain (head {head})"
                    : $"block {open.BlockNumber} now has hash {hash}"));
        }

        var summary = new Dictionary<string, long>
        {
            ["head"] = head,
            ["fromBlock"] = from,
            ["blocksScanned"] = Math.Max(0, head - from + 1),
            ["logsRead"] = logsRead,
            ["logsMatched"] = seen.Count,
            ["rpcCalls"] = _rpc.Calls - callsBefore,
        };
        return new PollResult((head + 1).ToString(CultureInfo.InvariantCulture), head, observations, summary);
    }

    private async Task EnsureChainIdAsync(CancellationToken cancellationToken)
    {
        if (_chainIdChecked)
        {
            return;
        }
        var answered = EvmRpcClient.ParseQuantity((await _rpc.CallAsync("eth_chainId", [], cancellationToken)).GetValue<string>());
        if (answered != _options.ChainId)
        {
            throw new EvmRpcException($"The JSON-RPC node of {Rail} answers chain id {answered}, not the configured {_options.ChainId}: nothing is scanned.");
        }
        _chainIdChecked = true;
    }

    /// <summary>
    /// Hands each log of [from, to] to <paramref name="match"/>, reading ranges of at most MaxBlockRange and halving
    /// a range the node refuses; only one range's logs are held at a time. Returns how many logs were read.
    /// </summary>
    private async Task<long> ScanAsync(long from, long to, Action<TransferLog> match, CancellationToken cancellationToken)
    {
        var read = 0L;
        var range = (long)_options.MaxBlockRange;
        var start = from;
        while (start <= to)
        {
            var end = Math.Min(to, start + range - 1);
            try
            {
                foreach (var log in await _rpc.TransferLogsAsync(_tokens.Keys, start, end, cancellationToken))
                {
                    match(log);
                    read++;
                }
                start = end + 1;
            }
            catch (EvmRpcErrorException) when (range > 1)
            {
                // "query returned more than 10000 results", "block range too large": a smaller range answers.
                range = Math.Max(1, range / 2);
            }
        }
        return read;
    }

    private SeenPayment Payment(TransferLog log, long agent)
    {
        var token = _tokens[log.Token];
        var convertible = TokenUnits.TryToMicros(log.Value, token.Decimals, out var conversion);
        return new SeenPayment(
            agent, log.To, log.Token, log.Value.ToString(CultureInfo.InvariantCulture),
            convertible ? conversion.Micros : Micros.Zero,
            convertible ? conversion.Remainder.ToString(CultureInfo.InvariantCulture) : "0",
            log.TransactionHash, log.LogIndex, convertible);
    }

    private static int Confirmations(long head, long block) => (int)Math.Clamp(head - block + 1, 0, int.MaxValue);

    public static string ExternalId(TransferLog log) => string.Create(CultureInfo.InvariantCulture, $"{log.TransactionHash}:{log.LogIndex}");
}
