using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.JsonRpc;
using Aisa.Settlement.Adapters.Solana.Keys;
using Aisa.Settlement.Adapters.Solana.Rpc;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;
using NBitcoin.DataEncoders;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Aisa.Settlement.Adapters.Solana;

/// <summary>
/// Solana with payouts: an SPL <c>transferChecked</c> of USDC from the treasury's token account to the publisher's associated
/// token account (created in the same transaction when missing, idempotently), with the payout in a memo, signed with the
/// treasury owner's Ed25519 key (BouncyCastle; Solnet is not served). The signed transaction, its signature and the last
/// block height of its blockhash are the prepared payout, stored before it is sent; it is only ever sent again as those
/// bytes, and signed afresh with a new blockhash only once the chain is past that height and knows none of its signatures,
/// so it can never land twice. Confirmed at <c>finalized</c>, the destination's balance change read back.
/// </summary>
public sealed class SolanaPayoutRail : SolanaRail, IPayoutRail
{
    private const string SystemProgram = "11111111111111111111111111111111";

    private readonly byte[] _seed;
    private readonly string _owner;

    public SolanaPayoutRail(SolanaOptions options, byte[] seed, HttpClient http, IDepositBook book, TimeProvider clock) : base(options, http, book, clock)
    {
        _seed = seed;
        _owner = options.TreasuryOwner!.Trim();
    }

    public Task<DestinationCheck> CheckDestinationAsync(string destination, CancellationToken cancellationToken) =>
        Task.FromResult(!SolanaKey.TryParse(destination, out var key)
            ? DestinationCheck.Refused("destination on solana is a wallet's public key (base58 of 32 bytes).")
            : !SolanaKey.IsOnCurve(key)
                ? DestinationCheck.Refused("destination is off the Ed25519 curve (a program-derived address, or a token account): give the wallet's own public key; its USDC account is derived from it.")
                : SolanaKey.Encode(key) == _owner
                    ? DestinationCheck.Refused("destination is the treasury itself.")
                    : DestinationCheck.Valid(SolanaKey.Encode(key)));

    public async Task<PreparedPayout> PrepareAsync(PayoutOrder order, CancellationToken cancellationToken)
    {
        BigInteger units;
        try
        {
            units = TokenUnits.FromMicros(order.Amount, Options.Decimals);
        }
        catch (ArgumentException e)
        {
            throw new PayoutRefusedException(e.Message);
        }
        var balance = await Rpc.CallAsync("getTokenAccountBalance", [TreasuryTokenAccount, new JsonObject { ["commitment"] = "confirmed" }], cancellationToken);
        var held = BigInteger.Parse(balance["value"]!["amount"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        if (held < units)
        {
            throw new JsonRpcException($"The treasury's USDC account holds {held} units, less than the {units} of this payout: it waits until the treasury is funded.");
        }
        var transfer = new Transfer(order.Destination, SolanaKey.AssociatedTokenAccount(order.Destination, Options.UsdcMint), units.ToString(CultureInfo.InvariantCulture),
            $"aisa-payout:{order.PayoutId}", []);
        var signed = transfer.With(await SignAsync(transfer, cancellationToken));
        return new PreparedPayout(order.Key, signed.ToJson(), signed.Latest.Signature);
    }

    public async Task<PayoutProgress> SendAsync(PreparedPayout prepared, CancellationToken cancellationToken)
    {
        await SendAsync(Transfer.Parse(prepared.State).Latest, cancellationToken);
        return await TrackAsync(prepared, cancellationToken);
    }

    public async Task<PayoutProgress> TrackAsync(PreparedPayout prepared, CancellationToken cancellationToken)
    {
        var transfer = Transfer.Parse(prepared.State);
        var latest = transfer.Latest;
        // Read before the statuses: a height past the last valid one, with no status after it, means none can land any more.
        var height = (await Rpc.CallAsync("getBlockHeight", [new JsonObject { ["commitment"] = "finalized" }], cancellationToken)).GetValue<long>();
        var signatures = transfer.Sends.Select(s => s.Signature).ToList();
        var statuses = (await Rpc.CallAsync("getSignatureStatuses", [new JsonArray([.. signatures.Select(s => (JsonNode)s)]), new JsonObject { ["searchTransactionHistory"] = true }],
            cancellationToken))["value"]!.AsArray();
        for (var i = 0; i < signatures.Count; i++)
        {
            if (statuses[i] is not JsonObject status)
            {
                continue;
            }
            var signature = signatures[i];
            var commitment = status["confirmationStatus"]?.GetValue<string>() ?? "finalized";
            var evidence = new JsonObject
            {
                ["signature"] = signature, ["slot"] = status["slot"]?.GetValue<long>(), ["commitment"] = commitment, ["destination"] = transfer.Destination,
                ["tokenAccount"] = transfer.TokenAccount, ["units"] = transfer.Units, ["memo"] = transfer.Memo,
            };
            if (commitment != "finalized")
            {
                return new PayoutProgress(PayoutStage.Submitted, signature, 0, 0, evidence);
            }
            if (status["err"] is { } error)
            {
                evidence["error"] = error.DeepClone();
                return new PayoutProgress(PayoutStage.Failed, signature, 0, 0, evidence);
            }
            var landed = (await Rpc.TransactionsAsync([signature], "finalized", cancellationToken))[0]
                ?? throw new JsonRpcException($"Transaction {signature} is finalized but the node does not return it yet.");
            var received = SolanaTransaction.Read(landed).BalanceChange(transfer.TokenAccount, Options.UsdcMint);
            if (received.ToString(CultureInfo.InvariantCulture) != transfer.Units)
            {
                throw new InvalidOperationException($"Transaction {signature} is finalized but moved {received} units into {transfer.TokenAccount}, not the {transfer.Units} signed for: check it by hand.");
            }
            return new PayoutProgress(PayoutStage.Confirmed, signature, 0, 0, evidence);
        }

        var waiting = new JsonObject { ["signature"] = latest.Signature, ["lastValidBlockHeight"] = latest.LastValidBlockHeight, ["blockHeight"] = height, ["sends"] = transfer.Sends.Count };
        if (height > latest.LastValidBlockHeight)
        {
            // Its blockhash expired unseen: the same transfer signed with a new one (stored before it is sent).
            var renewed = transfer.With(await SignAsync(transfer, cancellationToken));
            waiting["expired"] = latest.Signature;
            waiting["signature"] = renewed.Latest.Signature;
            return new PayoutProgress(PayoutStage.Submitted, renewed.Latest.Signature, 0, 0, waiting, new PreparedPayout(prepared.Key, renewed.ToJson(), renewed.Latest.Signature));
        }
        await SendAsync(latest, cancellationToken);
        return new PayoutProgress(PayoutStage.Submitted, latest.Signature, 0, 0, waiting);
    }

    private async Task SendAsync(SignedTransfer send, CancellationToken cancellationToken)
    {
        try
        {
            await Rpc.CallAsync("sendTransaction", [send.Transaction, new JsonObject { ["encoding"] = "base64", ["preflightCommitment"] = "confirmed" }], cancellationToken);
        }
        catch (JsonRpcErrorException e) when (e.Message.Contains("AlreadyProcessed", StringComparison.OrdinalIgnoreCase)
            || e.Message.Contains("already been processed", StringComparison.OrdinalIgnoreCase))
        {
            // Landed already: nothing more is paid.
        }
        catch (JsonRpcErrorException e) when (e.Message.Contains("Blockhash not found", StringComparison.OrdinalIgnoreCase))
        {
            // Its blockhash is past for this node, not yet for the finalized chain: once it is, the transfer is signed anew.
        }
    }

    /// <summary>The transfer as a legacy transaction under the latest confirmed blockhash, signed by the treasury owner.</summary>
    private async Task<SignedTransfer> SignAsync(Transfer transfer, CancellationToken cancellationToken)
    {
        var answer = (await Rpc.CallAsync("getLatestBlockhash", [new JsonObject { ["commitment"] = "confirmed" }], cancellationToken))["value"]!;
        var blockhash = answer["blockhash"]!.GetValue<string>();
        var message = Message(transfer, Encoders.Base58.DecodeData(blockhash));
        var signature = new byte[64];
        Ed25519.Sign(_seed, 0, message, 0, message.Length, signature, 0);
        var transaction = new byte[1 + 64 + message.Length];
        transaction[0] = 1;
        signature.CopyTo(transaction, 1);
        message.CopyTo(transaction, 65);
        return new SignedTransfer(Encoders.Base58.EncodeData(signature), Convert.ToBase64String(transaction), blockhash, answer["lastValidBlockHeight"]!.GetValue<long>());
    }

    /// <summary>
    /// The legacy message: keys [owner (signer, writable, fee payer), destination token account, treasury token account (writable),
    /// destination wallet, mint, system, token, associated token and memo programs (read-only)]; instructions: create the
    /// destination's token account if missing, <c>transferChecked</c>, the memo.
    /// </summary>
    private byte[] Message(Transfer transfer, byte[] blockhash)
    {
        string[] keys = [_owner, transfer.TokenAccount, TreasuryTokenAccount, transfer.Destination, Options.UsdcMint, SystemProgram, SolanaKey.TokenProgram,
            SolanaKey.AssociatedTokenProgram, SolanaKey.MemoProgram];
        const byte owner = 0, destinationAccount = 1, source = 2, wallet = 3, mint = 4, system = 5, token = 6, associated = 7, memo = 8;
        var amount = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(amount, ulong.Parse(transfer.Units, CultureInfo.InvariantCulture));
        var message = new List<byte> { 1, 0, 6 };
        message.AddRange(CompactLength(keys.Length));
        foreach (var key in keys)
        {
            message.AddRange(SolanaKey.Parse(key));
        }
        message.AddRange(blockhash);
        message.AddRange(CompactLength(3));
        Instruction(message, associated, [owner, destinationAccount, wallet, mint, system, token], [1]);
        Instruction(message, token, [source, mint, destinationAccount, owner], [12, .. amount, (byte)Options.Decimals]);
        Instruction(message, memo, [], Encoding.UTF8.GetBytes(transfer.Memo));
        return [.. message];
    }

    private static void Instruction(List<byte> message, byte program, byte[] accounts, byte[] data)
    {
        message.Add(program);
        message.AddRange(CompactLength(accounts.Length));
        message.AddRange(accounts);
        message.AddRange(CompactLength(data.Length));
        message.AddRange(data);
    }

    /// <summary>Solana's compact-u16: 7 bits a byte, low first, the high bit saying another byte follows.</summary>
    private static List<byte> CompactLength(int length)
    {
        var bytes = new List<byte>();
        var rest = length;
        do
        {
            var low = (byte)(rest & 0x7F);
            rest >>= 7;
            bytes.Add(rest == 0 ? low : (byte)(low | 0x80));
        }
        while (rest != 0);
        return bytes;
    }

    /// <summary>One signed transaction of a payout: its signature (its name on the chain), its bytes, and its blockhash's lifetime.</summary>
    private sealed record SignedTransfer(string Signature, string Transaction, string Blockhash, long LastValidBlockHeight);

    /// <summary>A payout's prepared record: what is paid, and every transaction signed for it (the first, then one per expired blockhash).</summary>
    private sealed record Transfer(string Destination, string TokenAccount, string Units, string Memo, IReadOnlyList<SignedTransfer> Sends)
    {
        public SignedTransfer Latest => Sends[^1];

        public Transfer With(SignedTransfer send) => this with { Sends = [.. Sends, send] };

        public string ToJson() => new JsonObject
        {
            ["destination"] = Destination, ["tokenAccount"] = TokenAccount, ["units"] = Units, ["memo"] = Memo,
            ["transactions"] = new JsonArray([.. Sends.Select(s => (JsonNode)new JsonObject
            {
                ["signature"] = s.Signature, ["transaction"] = s.Transaction, ["blockhash"] = s.Blockhash, ["lastValidBlockHeight"] = s.LastValidBlockHeight,
            })]),
        }.ToJsonString();

        public static Transfer Parse(string json)
        {
            var node = JsonNode.Parse(json)!.AsObject();
            return new Transfer(node["destination"]!.GetValue<string>(), node["tokenAccount"]!.GetValue<string>(), node["units"]!.GetValue<string>(), node["memo"]!.GetValue<string>(),
                [.. node["transactions"]!.AsArray().Select(t => new SignedTransfer(t!["signature"]!.GetValue<string>(), t["transaction"]!.GetValue<string>(),
                    t["blockhash"]!.GetValue<string>(), t["lastValidBlockHeight"]!.GetValue<long>()))]);
        }
    }
}
