using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Solana.Keys;

namespace Aisa.Settlement.Adapters.Solana.Rpc;

/// <summary>
/// One SPL Token transfer in a transaction: a top-level instruction (<c>3</c>) or one a program made (<c>3.1</c>, inner
/// instruction 1 of instruction 3).
/// </summary>
/// <param name="Mint">Named by a <c>transferChecked</c>; a plain <c>transfer</c> names none (its token accounts imply it).</param>
/// <param name="Signers">The accounts past the authority: a Solana Pay reference is one (agave shows the authority as <c>multisigAuthority</c> then).</param>
/// <param name="Memo">The text of the nearest memo instruction before the transfer, if any.</param>
public sealed record TokenTransfer(string Index, string Destination, string? Mint, int? Decimals, BigInteger Amount, IReadOnlyList<string> Signers, string? Memo);

/// <summary>A transaction as <c>getTransaction</c> (<c>jsonParsed</c>) shows it: what the watcher reads of it.</summary>
public sealed class SolanaTransaction
{
    private readonly JsonObject _json;
    private readonly List<string> _keys;

    private SolanaTransaction(JsonObject json)
    {
        _json = json;
        var message = json["transaction"]!["message"]!;
        _keys = message["accountKeys"]!.AsArray().Select(key => key is JsonObject parsed ? parsed["pubkey"]!.GetValue<string>() : key!.GetValue<string>()).ToList();
        Signature = json["transaction"]!["signatures"]![0]!.GetValue<string>();
        Slot = json["slot"]!.GetValue<long>();
        Error = json["meta"]?["err"] is { } error ? error.DeepClone() : null;
        Transfers = ReadTransfers(message["instructions"]!.AsArray(), json["meta"]?["innerInstructions"] as JsonArray);
    }

    public string Signature { get; }

    public long Slot { get; }

    /// <summary>What <c>meta.err</c> says when the transaction failed (it landed, paid its fee, and moved nothing else); null when it succeeded.</summary>
    public JsonNode? Error { get; }

    public IReadOnlyList<TokenTransfer> Transfers { get; }

    /// <summary>Reads a <c>jsonParsed</c> transaction; a malformed one throws <see cref="InvalidDataException"/> (the node answered garbage: the pass fails and tries again).</summary>
    public static SolanaTransaction Read(JsonObject json)
    {
        try
        {
            return new SolanaTransaction(json);
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException or ArgumentOutOfRangeException or KeyNotFoundException)
        {
            throw new InvalidDataException($"a transaction the node answered is not a jsonParsed transaction ({e.GetType().Name})", e);
        }
    }

    /// <summary>
    /// How much <paramref name="account"/> held of <paramref name="mint"/> after the transaction minus before it: a token
    /// account created in the transaction has no balance before it, which counts as 0.
    /// </summary>
    public BigInteger BalanceChange(string account, string mint)
    {
        var index = _keys.IndexOf(account);
        return index < 0 ? BigInteger.Zero : Balance("postTokenBalances", index, mint) - Balance("preTokenBalances", index, mint);
    }

    private BigInteger Balance(string which, int index, string mint)
    {
        var entry = (_json["meta"]?[which] as JsonArray)?.OfType<JsonObject>()
            .FirstOrDefault(b => b["accountIndex"]?.GetValue<int>() == index && b["mint"]?.GetValue<string>() == mint);
        return entry?["uiTokenAmount"]?["amount"]?.GetValue<string>() is { } amount ? BigInteger.Parse(amount, NumberStyles.None, CultureInfo.InvariantCulture) : BigInteger.Zero;
    }

    private static List<TokenTransfer> ReadTransfers(JsonArray instructions, JsonArray? inner)
    {
        var transfers = new List<TokenTransfer>();
        string? memo = null;
        for (var i = 0; i < instructions.Count; i++)
        {
            var instruction = instructions[i]!.AsObject();
            if (instruction["programId"]?.GetValue<string>() == SolanaKey.MemoProgram && instruction["parsed"] is JsonValue text)
            {
                memo = text.GetValue<string>();
                continue;
            }
            if (TransferOf(instruction, i.ToString(CultureInfo.InvariantCulture), memo) is { } transfer)
            {
                transfers.Add(transfer);
            }
            var made = inner?.OfType<JsonObject>().FirstOrDefault(group => group["index"]?.GetValue<int>() == i)?["instructions"] as JsonArray;
            for (var j = 0; made is not null && j < made.Count; j++)
            {
                if (TransferOf(made[j]!.AsObject(), $"{i}.{j}", memo) is { } innerTransfer)
                {
                    transfers.Add(innerTransfer);
                }
            }
        }
        return transfers;
    }

    /// <summary>A transfer of the SPL Token program (a Token-2022 one is another program's, and never ours).</summary>
    private static TokenTransfer? TransferOf(JsonObject instruction, string index, string? memo)
    {
        if (instruction["programId"]?.GetValue<string>() != SolanaKey.TokenProgram || instruction["parsed"] is not JsonObject parsed)
        {
            return null;
        }
        var type = parsed["type"]?.GetValue<string>();
        if (type is not ("transfer" or "transferChecked") || parsed["info"] is not JsonObject info)
        {
            return null;
        }
        var checkedAmount = info["tokenAmount"] as JsonObject;
        var amount = (checkedAmount?["amount"] ?? info["amount"])!.GetValue<string>();
        var signers = (info["signers"] as JsonArray)?.Select(s => s!.GetValue<string>()).ToList() ?? [];
        return new TokenTransfer(index, info["destination"]!.GetValue<string>(), info["mint"]?.GetValue<string>(), checkedAmount?["decimals"]?.GetValue<int>(),
            BigInteger.Parse(amount, NumberStyles.None, CultureInfo.InvariantCulture), signers, memo);
    }
}
