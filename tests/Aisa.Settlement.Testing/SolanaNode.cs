using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Testing;

/// <summary>The token accounts of a test chain: a 6-decimal mint (the test's USDC) and the treasury's owner wallet.</summary>
public sealed record SolanaTreasury(string Mint, string MintAuthority, string Owner, string TokenAccount);

/// <summary>One transfer of a test transaction: to an owner's token account, with a Solana Pay reference and a memo if given.</summary>
public sealed record SolanaTransfer(string Owner, long Amount, string? Reference = null, string? Memo = null, string? Mint = null);

/// <summary>
/// The real Solana runtime (LiteSVM, from npm) behind tests/peers/solana-node.mjs, our JSON-RPC front end that answers as an
/// agave node does (slots, commitments, the 150-blockhash window, jsonParsed transactions). Every transaction is built and
/// signed by @solana/kit and @solana-program/token inside it, and sent through its own sendTransaction, as a wallet would.
/// Slots advance only when a transaction lands or a test says so: finality is the test's to give.
/// </summary>
public sealed class SolanaNode : IAsyncDisposable
{
    /// <summary>How far finalized lags behind the newest slot (confirmed lags 1), as on mainnet.</summary>
    public const int FinalizedLag = 32;

    private readonly Process _process;
    private readonly HttpClient _http;

    private SolanaNode(Process process, Uri url)
    {
        _process = process;
        Url = url;
        _http = new HttpClient { BaseAddress = url };
    }

    public Uri Url { get; }

    public static async Task<SolanaNode> StartAsync()
    {
        var (process, url) = await NodePeers.StartServerAsync("solana-node.mjs", "Solana node");
        return new SolanaNode(process, url);
    }

    private async Task<JsonObject> ControlAsync(JsonObject body)
    {
        using var response = await _http.PostAsJsonAsync(new Uri("control", UriKind.Relative), body);
        var text = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? JsonNode.Parse(text)!.AsObject() : throw new InvalidOperationException($"Solana node control {body["op"]}: {text}");
    }

    /// <summary>A mint of <paramref name="decimals"/> decimals and a treasury owner (its token account is made by the first payment to it).</summary>
    /// <param name="treasurySeed">The treasury owner's 32-byte Ed25519 seed, when a test's service signs for it (payouts); a fresh key when null.</param>
    public async Task<SolanaTreasury> SetupAsync(int decimals = 6, byte[]? treasurySeed = null)
    {
        var setup = await ControlAsync(new JsonObject
        {
            ["op"] = "setup", ["decimals"] = decimals, ["treasurySeed"] = treasurySeed is null ? null : Convert.ToHexStringLower(treasurySeed),
        });
        return new SolanaTreasury(Text(setup, "mint"), Text(setup, "mintAuthority"), Text(setup, "treasuryOwner"), Text(setup, "treasuryTokenAccount"));
    }

    /// <summary>A wallet with SOL and <paramref name="amount"/> atomic units of the mint; returns its address.</summary>
    public async Task<string> PayerAsync(SolanaTreasury treasury, long amount) =>
        Text(await ControlAsync(new JsonObject { ["op"] = "payer", ["mint"] = treasury.Mint, ["mintAuthority"] = treasury.MintAuthority, ["amount"] = amount }), "payer");

    /// <summary>A fresh key, as a wallet would make a Solana Pay reference.</summary>
    public async Task<string> NewKeyAsync() => Text(await ControlAsync(new JsonObject { ["op"] = "reference" }), "reference");

    /// <summary>One transaction of <paramref name="payer"/> holding every transfer; <paramref name="fail"/> sends it past preflight, so a failing one lands with its error.</summary>
    public async Task<(string Signature, long Slot, JsonNode? Error)> TransferAsync(string payer, SolanaTreasury treasury, IEnumerable<SolanaTransfer> transfers, bool fail = false)
    {
        var list = new JsonArray(transfers.Select(t => (JsonNode?)new JsonObject
        {
            ["owner"] = t.Owner,
            ["amount"] = t.Amount,
            ["reference"] = t.Reference,
            ["memo"] = t.Memo,
            ["mint"] = t.Mint,
        }).ToArray());
        var sent = await ControlAsync(new JsonObject { ["op"] = "transfer", ["payer"] = payer, ["mint"] = treasury.Mint, ["transfers"] = list, ["fail"] = fail });
        return (Text(sent, "signature"), sent["slot"]!.GetValue<long>(), sent["err"]?.DeepClone());
    }

    public Task<(string Signature, long Slot, JsonNode? Error)> TransferAsync(string payer, SolanaTreasury treasury, SolanaTransfer transfer, bool fail = false) =>
        TransferAsync(payer, treasury, [transfer], fail);

    /// <summary><paramref name="count"/> transactions of one transfer each.</summary>
    public async Task BurstAsync(string payer, SolanaTreasury treasury, int count, long amount, string? reference) =>
        await ControlAsync(new JsonObject { ["op"] = "burst", ["payer"] = payer, ["mint"] = treasury.Mint, ["owner"] = treasury.Owner, ["count"] = count, ["amount"] = amount, ["reference"] = reference });

    /// <summary>
    /// A benchmark's chain: <paramref name="deposits"/> transfers into the treasury naming the <paramref name="references"/> in
    /// turn, spread among <paramref name="others"/> transactions of the treasury paying out (they touch its token account too).
    /// </summary>
    public async Task MixAsync(string payer, SolanaTreasury treasury, IReadOnlyList<string> references, int deposits, int others, long amount) =>
        await ControlAsync(new JsonObject
        {
            ["op"] = "mix", ["payer"] = payer, ["mint"] = treasury.Mint, ["treasuryOwner"] = treasury.Owner,
            ["references"] = new JsonArray(references.Select(r => (JsonNode?)r).ToArray()), ["deposits"] = deposits, ["others"] = others, ["amount"] = amount,
        });

    /// <summary>Empty slots: <c>confirmed</c> moves past a transaction after 1, <c>finalized</c> after <see cref="FinalizedLag"/>.</summary>
    public async Task<long> AdvanceAsync(int slots) => (await ControlAsync(new JsonObject { ["op"] = "advance", ["slots"] = slots }))["slot"]!.GetValue<long>();

    /// <summary>Everything landed so far becomes finalized.</summary>
    public Task<long> FinalizeAsync() => AdvanceAsync(FinalizedLag);

    /// <summary>How far confirmed and finalized lag behind the newest slot (1 and <see cref="FinalizedLag"/> unless set).</summary>
    public async Task SetLagsAsync(int confirmed, int finalized) =>
        await ControlAsync(new JsonObject { ["op"] = "lags", ["confirmed"] = confirmed, ["finalized"] = finalized });

    /// <summary>Marks a fork point: what lands after it is dropped by <see cref="RevertAsync"/>.</summary>
    public async Task<string> SnapshotAsync() => Text(await ControlAsync(new JsonObject { ["op"] = "snapshot" }), "id");

    public async Task RevertAsync(string snapshot) => await ControlAsync(new JsonObject { ["op"] = "revert", ["id"] = snapshot });

    /// <summary>A JSON-RPC call, for tests that ask the node what it holds.</summary>
    public async Task<JsonNode?> CallAsync(string method, params JsonNode?[] parameters)
    {
        using var response = await _http.PostAsJsonAsync(new Uri("", UriKind.Relative), new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 1, ["method"] = method, ["params"] = new JsonArray(parameters) });
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return answer["error"] is { } error ? throw new InvalidOperationException($"{method}: {error.ToJsonString()}") : answer["result"];
    }

    private static string Text(JsonObject json, string name) => json[name]?.GetValue<string>() ?? throw new InvalidOperationException($"The Solana node answered no {name}: {json.ToJsonString()}");

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
