using System.Numerics;
using System.Text.Json;
using Aisa.Settlement.Adapters.JsonRpc;
using Aisa.Settlement.Adapters.Solana.Keys;
using Aisa.Settlement.Adapters.Solana.Rpc;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Adapters.Solana.Tests.Rpc;

/// <summary>
/// Our JSON-RPC front end over the real Solana runtime (tests/peers/solana-node.mjs), checked by an independent client —
/// @solana/web3.js's Connection validates each answer against its schemas — and read by the service's own client.
/// </summary>
public sealed class SolanaNodeTests : IAsyncLifetime
{
    private SolanaNode _node = null!;

    public async Task InitializeAsync() => _node = await SolanaNode.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Solana_web3_js_accepts_every_answer_the_watcher_and_a_wallet_use()
    {
        var treasury = await _node.SetupAsync();
        var payer = await _node.PayerAsync(treasury, 100_000_000);
        var (signature, _, _) = await _node.TransferAsync(payer, treasury, new SolanaTransfer(treasury.Owner, 12_500_000, Reference: await _node.NewKeyAsync(), Memo: "aisa:check"));
        await _node.FinalizeAsync();

        var checkedMethods = JsonDocument.Parse(await NodePeers.RunAsync("solana-web3-check.mjs", _node.Url.ToString(), treasury.TokenAccount, signature)).RootElement;

        Assert.Equal(
            ["getVersion", "getSlot", "getBlockHeight", "getEpochInfo", "getLatestBlockhash", "isBlockhashValid", "getMinimumBalanceForRentExemption", "getBalance",
                "getAccountInfo", "getTokenAccountBalance", "getSignaturesForAddress", "getSignatureStatuses", "getParsedTransaction", "getTransaction"],
            checkedMethods.GetProperty("checked").EnumerateArray().Select(m => m.GetString()));
    }

    [Fact]
    public async Task The_services_client_reads_a_real_transfer_with_its_reference_memo_and_balance_change_and_pages_by_commitment()
    {
        var treasury = await _node.SetupAsync();
        var payer = await _node.PayerAsync(treasury, 100_000_000);
        var reference = await _node.NewKeyAsync();
        var rpc = new SolanaRpcClient(new HttpClient(), new JsonRpcOptions { Endpoints = [_node.Url] });
        Assert.Equal(treasury.TokenAccount, SolanaKey.AssociatedTokenAccount(treasury.Owner, treasury.Mint));

        var (first, _, _) = await _node.TransferAsync(payer, treasury, new SolanaTransfer(treasury.Owner, 2_000_000, Reference: reference, Memo: "aisa:" + reference));
        var (second, _, _) = await _node.TransferAsync(payer, treasury, new SolanaTransfer(treasury.Owner, 3_000_000));
        await _node.AdvanceAsync(1);

        // Confirmed, not final: listed at confirmed only; processed is refused by the method, as agave refuses it.
        Assert.Empty(await rpc.SignaturesAsync(treasury.TokenAccount, "finalized", null, null, 10, CancellationToken.None));
        Assert.Equal([second, first], (await rpc.SignaturesAsync(treasury.TokenAccount, "confirmed", null, null, 10, CancellationToken.None)).Select(s => s.Signature));
        await Assert.ThrowsAsync<JsonRpcErrorException>(() => rpc.SignaturesAsync(treasury.TokenAccount, "processed", null, null, 10, CancellationToken.None));
        await _node.FinalizeAsync();
        // Paging: before a signature are the older ones, until a signature the newer ones.
        Assert.Equal([first], (await rpc.SignaturesAsync(treasury.TokenAccount, "finalized", second, null, 10, CancellationToken.None)).Select(s => s.Signature));
        Assert.Equal([second], (await rpc.SignaturesAsync(treasury.TokenAccount, "finalized", null, first, 10, CancellationToken.None)).Select(s => s.Signature));

        var transactions = await rpc.TransactionsAsync([first, second], "finalized", CancellationToken.None);
        var paid = SolanaTransaction.Read(transactions[0]!);
        var transfer = Assert.Single(paid.Transfers);
        Assert.Equal((first, treasury.TokenAccount, treasury.Mint, new BigInteger(2_000_000)), (paid.Signature, transfer.Destination, transfer.Mint, transfer.Amount));
        Assert.Equal([reference], transfer.Signers);
        Assert.Equal("aisa:" + reference, transfer.Memo);
        // The treasury's token account was created by this transaction: no pre balance, counted as 0.
        Assert.Equal(new BigInteger(2_000_000), paid.BalanceChange(treasury.TokenAccount, treasury.Mint));
        var plain = SolanaTransaction.Read(transactions[1]!);
        Assert.Empty(Assert.Single(plain.Transfers).Signers);
        Assert.Equal(new BigInteger(3_000_000), plain.BalanceChange(treasury.TokenAccount, treasury.Mint));
        Assert.Equal("finalized", (await rpc.StatusesAsync([first], CancellationToken.None))[0]!.Value.Status);
    }
}
