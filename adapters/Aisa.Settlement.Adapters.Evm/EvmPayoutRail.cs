using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Evm.Addresses;
using Aisa.Settlement.Adapters.Evm.Rpc;
using Aisa.Settlement.Adapters.JsonRpc;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;
using Nethereum.ABI.FunctionEncoding.Attributes;
using Nethereum.Contracts;
using Nethereum.Model;
using Nethereum.Signer;

namespace Aisa.Settlement.Adapters.Evm;

/// <summary>
/// An EVM chain that also pays publishers: an ERC-20 <c>transfer</c> of the configured token from the hot wallet, signed
/// offline as EIP-1559 (Nethereum). The signed bytes and their nonce are the prepared payout, stored before they are
/// broadcast; a payout is only ever broadcast again from them (a node answers "nonce too low" or "already known", nothing is
/// paid twice), or replaced with the same nonce and a higher fee when stuck, so at most one of its transactions is mined.
/// Confirmed at the chain's depth with the receipt's status and its <c>Transfer</c> log checked and its block re-read.
/// </summary>
public sealed class EvmPayoutRail : EvmRail, IPayoutRail
{
    // A replacement must pay at least 10% more (geth's price bump); 12.5% (1125 per mille) leaves room for rounding.
    private const int BumpPerMille = 1125;
    private static readonly BigInteger Gwei = BigInteger.Pow(10, 9);

    private readonly EvmPayoutOptions _payouts;
    private readonly byte[] _key;
    private readonly EvmAddress _wallet;
    private readonly EvmTokenOptions _token;
    private readonly BigInteger _feeCeiling;
    private readonly TimeProvider _clock;

    public EvmPayoutRail(RailId rail, EvmChainOptions options, EvmPayoutOptions payouts, byte[] key, HttpClient http, TimeProvider clock) : base(rail, options, http)
    {
        _payouts = payouts;
        _key = key;
        _wallet = EvmAddress.Parse(new EthECKey(key, true).GetPublicAddress());
        _token = options.Tokens.First(t => string.Equals(t.Symbol, payouts.Token, StringComparison.OrdinalIgnoreCase));
        _feeCeiling = new BigInteger(payouts.MaxFeePerGasGwei * 1_000_000_000m);
        _clock = clock;
    }

    /// <summary>The hot wallet's address (derived from its key).</summary>
    public string Wallet => _wallet.ToString();

    public Task<DestinationCheck> CheckDestinationAsync(string destination, CancellationToken cancellationToken)
    {
        if (!EvmAddress.TryParse(destination, out var address))
        {
            return Task.FromResult(DestinationCheck.Refused(
                $"destination on {Id} is an address: 0x and 40 hex digits, all in one case or with a correct EIP-55 checksum (a wrong checksum means a mistyped address)."));
        }
        if (address.ToBytes().All(b => b == 0))
        {
            return Task.FromResult(DestinationCheck.Refused("destination is the zero address: tokens sent there are lost."));
        }
        return Task.FromResult(DestinationCheck.Valid(address.ToString()));
    }

    public async Task<PreparedPayout> PrepareAsync(PayoutOrder order, CancellationToken cancellationToken)
    {
        await EnsureChainIdAsync(cancellationToken);
        var destination = EvmAddress.Parse(order.Destination);
        BigInteger units;
        try
        {
            units = TokenUnits.FromMicros(order.Amount, _token.Decimals);
        }
        catch (ArgumentException e)
        {
            throw new PayoutRefusedException(e.Message);
        }
        var data = "0x" + Convert.ToHexStringLower(new TransferFunction { To = destination.ToString(), Value = units }.GetCallData());
        var pending = ParseBig(await CallAsync("eth_getTransactionCount", [_wallet.ToLowerHex(), "pending"], cancellationToken));
        // The database's numbering: after every send of this wallet prepared and not final (one may not have reached the node).
        var nonce = order.Outstanding.Select(p => Sends.Parse(p.State)).Where(s => s.From == _wallet.ToLowerHex()).Select(s => s.Nonce + 1).Append(pending).Max();
        BigInteger gas;
        try
        {
            var estimate = ParseBig(await CallAsync("eth_estimateGas", [new JsonObject { ["from"] = _wallet.ToLowerHex(), ["to"] = _token.Address.ToLowerInvariant(), ["data"] = data }],
                cancellationToken));
            gas = estimate * 13 / 10;
        }
        catch (JsonRpcErrorException e)
        {
            // The hot wallet lacks the tokens or the gas for it now: the payout waits, nothing was signed.
            throw new JsonRpcException($"The hot wallet {Wallet} on {Id} cannot send this transfer now ({e.Message}): it is tried again next pass.");
        }
        var (maxFee, tip) = await FeesAsync(cancellationToken);
        var sends = new Sends(ChainId, _wallet.ToLowerHex(), destination.ToLowerHex(), _token.Address.ToLowerInvariant(), units.ToString(CultureInfo.InvariantCulture),
            nonce, data, gas.ToString(CultureInfo.InvariantCulture), []);
        var signed = sends.With(Sign(sends, maxFee, tip));
        return new PreparedPayout(order.Key, signed.ToJson(), signed.Latest.Hash);
    }

    public async Task<PayoutProgress> SendAsync(PreparedPayout prepared, CancellationToken cancellationToken)
    {
        await BroadcastAsync(Sends.Parse(prepared.State).Latest, cancellationToken);
        return await TrackAsync(prepared, cancellationToken);
    }

    public async Task<PayoutProgress> TrackAsync(PreparedPayout prepared, CancellationToken cancellationToken)
    {
        var sends = Sends.Parse(prepared.State);
        // Read before the receipts: a nonce used by then has its receipt found below, if it is this payout's.
        var used = ParseBig(await CallAsync("eth_getTransactionCount", [sends.From, "latest"], cancellationToken));
        var head = await Rpc.BlockNumberAsync(cancellationToken);
        var receipts = await Rpc.ReceiptsAsync(sends.Transactions.Select(t => t.Hash).ToList(), cancellationToken);
        var mined = receipts.Values.OfType<JsonObject>().ToList();
        if (mined.Count > 0)
        {
            var receipt = mined[0];
            var hash = receipt["transactionHash"]!.GetValue<string>().ToLowerInvariant();
            var number = EvmRpcClient.ParseQuantity(receipt["blockNumber"]!.GetValue<string>());
            var blockHash = receipt["blockHash"]!.GetValue<string>().ToLowerInvariant();
            var canonical = (await Rpc.BlockHashesAsync([number], cancellationToken)).GetValueOrDefault(number)?.ToLowerInvariant();
            if (canonical == blockHash)
            {
                var depth = (int)Math.Clamp(head - number + 1, 0, int.MaxValue);
                var evidence = new JsonObject
                {
                    ["txHash"] = hash, ["blockNumber"] = number, ["blockHash"] = blockHash, ["nonce"] = (long)sends.Nonce, ["from"] = sends.From, ["to"] = sends.To,
                    ["token"] = sends.Token, ["units"] = sends.Units, ["gasUsed"] = receipt["gasUsed"]?.GetValue<string>(), ["confirmations"] = depth,
                    ["confirmationsRequired"] = ConfirmationsRequired,
                };
                var succeeded = receipt["status"]?.GetValue<string>() == "0x1";
                if (succeeded && !PaidAsPrepared(receipt, sends))
                {
                    throw new InvalidOperationException($"Transaction {hash} of {Id} succeeded without the Transfer of {sends.Units} units to {sends.To} it was signed for: check it by hand.");
                }
                evidence["status"] = succeeded ? "success" : "reverted";
                var stage = depth < ConfirmationsRequired ? PayoutStage.Submitted : succeeded ? PayoutStage.Confirmed : PayoutStage.Failed;
                return new PayoutProgress(stage, hash, depth, ConfirmationsRequired, evidence);
            }
            // Its block left the chain: the same bytes are broadcast again below and mined in another.
        }

        var latest = sends.Latest;
        if (used > sends.Nonce && mined.Count == 0)
        {
            // The nonce went to a transaction this payout has no record of (the hot wallet used elsewhere?): never taken as unpaid.
            throw new InvalidOperationException($"Nonce {sends.Nonce} of the hot wallet on {Id} was used by a transaction that is not this payout's ({latest.Hash}): check the wallet by hand.");
        }
        await BroadcastAsync(latest, cancellationToken);
        var waiting = new JsonObject { ["txHash"] = latest.Hash, ["nonce"] = (long)sends.Nonce, ["sends"] = sends.Transactions.Count, ["confirmations"] = 0, ["confirmationsRequired"] = ConfirmationsRequired };
        if (mined.Count == 0 && _clock.GetUtcNow() - latest.SignedAt >= TimeSpan.FromSeconds(_payouts.ReplaceAfterSeconds))
        {
            var (maxFee, tip) = await FeesAsync(cancellationToken);
            maxFee = BigInteger.Max(maxFee, latest.MaxFeePerGas * BumpPerMille / 1000 + 1);
            tip = BigInteger.Max(tip, latest.MaxPriorityFeePerGas * BumpPerMille / 1000 + 1);
            if (maxFee <= _feeCeiling && tip <= maxFee)
            {
                var replacement = sends.With(Sign(sends, maxFee, tip));
                waiting["replaced"] = latest.Hash;
                waiting["txHash"] = replacement.Latest.Hash;
                return new PayoutProgress(PayoutStage.Submitted, replacement.Latest.Hash, 0, ConfirmationsRequired, waiting, new PreparedPayout(prepared.Key, replacement.ToJson(), replacement.Latest.Hash));
            }
            waiting["note"] = $"not mined after {_payouts.ReplaceAfterSeconds} s; a higher fee would pass the ceiling of {_payouts.MaxFeePerGasGwei} gwei";
        }
        return new PayoutProgress(PayoutStage.Submitted, latest.Hash, 0, ConfirmationsRequired, waiting);
    }

    /// <summary>The receipt holds the Transfer of the prepared units from the hot wallet to the destination, by the token.</summary>
    private static bool PaidAsPrepared(JsonObject receipt, Sends sends) =>
        receipt["logs"] is JsonArray logs && logs.OfType<JsonObject>().Select(TransferLog.Parse).Any(log =>
            log is not null && log.Token == sends.Token && log.From == sends.From && log.To == sends.To && log.Value.ToString(CultureInfo.InvariantCulture) == sends.Units);

    private SentTransaction Sign(Sends sends, BigInteger maxFee, BigInteger tip)
    {
        var transaction = new Transaction1559(ChainId, sends.Nonce, tip, maxFee, BigInteger.Parse(sends.Gas, CultureInfo.InvariantCulture), sends.Token, BigInteger.Zero, sends.Data, []);
        var signed = new Transaction1559Signer().SignTransaction(_key, transaction);
        var raw = signed.StartsWith("0x", StringComparison.Ordinal) ? signed : "0x" + signed;
        var bytes = Convert.FromHexString(raw[2..]);
        var hash = "0x" + Convert.ToHexStringLower(Keccak.Hash256(bytes));
        return new SentTransaction(hash, raw, maxFee, tip, _clock.GetUtcNow());
    }

    /// <summary>Fees for the next block: twice its base fee plus the median tip of recent blocks (<c>eth_gasPrice</c> where the node has no fee history), under the ceiling.</summary>
    private async Task<(BigInteger MaxFee, BigInteger Tip)> FeesAsync(CancellationToken cancellationToken)
    {
        BigInteger baseFee, tip;
        try
        {
            var history = await CallAsync("eth_feeHistory", ["0x5", "latest", new JsonArray(50)], cancellationToken);
            var bases = history["baseFeePerGas"]!.AsArray();
            baseFee = ParseBig(bases[^1]!);
            var rewards = history["reward"]?.AsArray().Select(r => ParseBig(r![0]!)).Order().ToList() ?? [];
            tip = rewards.Count > 0 ? rewards[rewards.Count / 2] : Gwei / 1000;
        }
        catch (JsonRpcErrorException)
        {
            baseFee = ParseBig(await CallAsync("eth_gasPrice", [], cancellationToken));
            tip = baseFee;
        }
        tip = BigInteger.Max(tip, 1);
        var maxFee = baseFee * 2 + tip;
        if (baseFee + tip > _feeCeiling)
        {
            throw new JsonRpcException($"Gas on {Id} costs {baseFee + tip} wei, above the ceiling of {_payouts.MaxFeePerGasGwei} gwei (Payouts:MaxFeePerGasGwei): the payout waits.");
        }
        return (BigInteger.Min(maxFee, _feeCeiling), tip);
    }

    private async Task BroadcastAsync(SentTransaction send, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync("eth_sendRawTransaction", [send.Raw], cancellationToken);
        }
        catch (JsonRpcErrorException e) when (AlreadySeen.Any(answer => e.Message.Contains(answer, StringComparison.OrdinalIgnoreCase)))
        {
            // Mined or waiting already (this send, or the one it replaced): nothing more is paid.
        }
    }

    /// <summary>
    /// What nodes answer a broadcast of a transaction they have (geth "already known", anvil "transaction already imported",
    /// Nethermind "AlreadyKnown") or whose nonce is taken (mined, or waiting in a replacement this payout made).
    /// </summary>
    private static readonly string[] AlreadySeen =
        ["nonce too low", "already known", "alreadyknown", "already imported", "known transaction", "replacement transaction underpriced"];

    private Task<JsonNode> CallAsync(string method, JsonArray parameters, CancellationToken cancellationToken) => Rpc.CallAsync(method, parameters, cancellationToken);

    private static BigInteger ParseBig(JsonNode node)
    {
        var hex = node.GetValue<string>();
        return hex.StartsWith("0x", StringComparison.Ordinal)
            ? BigInteger.Parse("0" + hex[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)
            : throw new InvalidDataException($"not a JSON-RPC quantity: {hex}");
    }

    [Function("transfer", "bool")]
    private sealed class TransferFunction : FunctionMessage
    {
        [Parameter("address", "_to", 1)]
        public string To { get; set; } = "";

        [Parameter("uint256", "_value", 2)]
        public BigInteger Value { get; set; }
    }

    /// <summary>One signed transaction of a payout: its bytes, its fees, when it was signed.</summary>
    private sealed record SentTransaction(string Hash, string Raw, BigInteger MaxFeePerGas, BigInteger MaxPriorityFeePerGas, DateTimeOffset SignedAt);

    /// <summary>A payout's prepared record: one nonce, and every transaction signed for it (the first, then its replacements).</summary>
    private sealed record Sends(long ChainId, string From, string To, string Token, string Units, BigInteger Nonce, string Data, string Gas, IReadOnlyList<SentTransaction> Transactions)
    {
        public SentTransaction Latest => Transactions[^1];

        public Sends With(SentTransaction send) => this with { Transactions = [.. Transactions, send] };

        public string ToJson() => new JsonObject
        {
            ["chainId"] = ChainId, ["from"] = From, ["to"] = To, ["token"] = Token, ["units"] = Units, ["nonce"] = Nonce.ToString(CultureInfo.InvariantCulture),
            ["data"] = Data, ["gas"] = Gas,
            ["transactions"] = new JsonArray([.. Transactions.Select(t => (JsonNode)new JsonObject
            {
                ["hash"] = t.Hash, ["raw"] = t.Raw, ["maxFeePerGas"] = t.MaxFeePerGas.ToString(CultureInfo.InvariantCulture),
                ["maxPriorityFeePerGas"] = t.MaxPriorityFeePerGas.ToString(CultureInfo.InvariantCulture), ["signedAt"] = t.SignedAt.ToString("O", CultureInfo.InvariantCulture),
            })]),
        }.ToJsonString();

        public static Sends Parse(string json)
        {
            var node = JsonNode.Parse(json)?.AsObject() ?? throw new JsonException("A prepared EVM payout is a JSON object.");
            return new Sends(node["chainId"]!.GetValue<long>(), node["from"]!.GetValue<string>(), node["to"]!.GetValue<string>(), node["token"]!.GetValue<string>(),
                node["units"]!.GetValue<string>(), BigInteger.Parse(node["nonce"]!.GetValue<string>(), CultureInfo.InvariantCulture), node["data"]!.GetValue<string>(),
                node["gas"]!.GetValue<string>(),
                [.. node["transactions"]!.AsArray().Select(t => new SentTransaction(t!["hash"]!.GetValue<string>(), t["raw"]!.GetValue<string>(),
                    BigInteger.Parse(t["maxFeePerGas"]!.GetValue<string>(), CultureInfo.InvariantCulture),
                    BigInteger.Parse(t["maxPriorityFeePerGas"]!.GetValue<string>(), CultureInfo.InvariantCulture),
                    DateTimeOffset.Parse(t["signedAt"]!.GetValue<string>(), CultureInfo.InvariantCulture)))]);
        }
    }
}
