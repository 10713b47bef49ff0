using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Solana.Keys;
using Aisa.Settlement.Api.Tests.Rails;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Storage.Payouts;
using Aisa.Settlement.Testing;
using Microsoft.Extensions.DependencyInjection;
using NBitcoin.DataEncoders;

namespace Aisa.Settlement.Api.Tests.Payouts;

/// <summary>
/// Publisher payouts on Solana, on the real runtime (LiteSVM behind our JSON-RPC front end): USDC from the treasury's token
/// account to the publisher's (created in the same transaction), the transaction read back by @solana/web3.js, confirmed at
/// finalized; a blockhash that expired unseen signed anew, never paid twice; and the service killed the moment its
/// transaction reached the node, restarted without paying twice.
/// </summary>
public sealed class SolanaPayoutTests : IAsyncLifetime
{
    private const long Funded = 500_000_000;

    private readonly byte[] _seed = RandomNumberGenerator.GetBytes(32);
    private SolanaNode _node = null!;
    private SolanaTreasury _treasury = null!;
    private TestStore? _store;
    private SettlementFactory? _factory;
    private readonly List<ChildProcess> _services = [];
    private readonly string _directory = Directory.CreateTempSubdirectory("aisa-solana-payouts-").FullName;

    public async Task InitializeAsync()
    {
        _node = await SolanaNode.StartAsync();
        _treasury = await _node.SetupAsync(treasurySeed: _seed);
        var payer = await _node.PayerAsync(_treasury, Funded);
        await _node.TransferAsync(payer, _treasury, new SolanaTransfer(_treasury.Owner, Funded));
        await _node.FinalizeAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var service in _services)
        {
            service.Dispose();
        }
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
        await _node.DisposeAsync();
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
        Directory.Delete(_directory, recursive: true);
    }

    private Dictionary<string, string> Settings(Uri rpc)
    {
        var settings = SolanaWatch.Settings(rpc, _treasury);
        settings["Rails:Solana:Payouts:PrivateKey"] = Encoders.Base58.EncodeData(_seed);
        settings["Payouts:Schedule"] = "0 0 1 1 *";
        settings["Payouts:PollIntervalSeconds"] = "1";
        return settings;
    }

    private async Task<AisaClient> StartInProcessAsync(string provider, Uri? rpc = null)
    {
        _store = await TestStore.CreateAsync(provider);
        _factory = new SettlementFactory(_store, Settings(rpc ?? _node.Url));
        return new AisaClient(_factory.CreateClient());
    }

    private Task<JsonElement> WaitForPayoutAsync(AisaClient client, string session, string state) =>
        PayoutFlow.WaitForPayoutAsync(client, session, state, async () => await _node.AdvanceAsync(4));

    private async Task<long> TokenBalanceAsync(string tokenAccount)
    {
        var answer = await _node.CallAsync("getTokenAccountBalance", tokenAccount);
        return long.Parse(answer!["value"]!["amount"]!.GetValue<string>(), CultureInfo.InvariantCulture);
    }

    private static long Units(decimal usd) => (long)(usd * 1_000_000m);

    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task A_publisher_is_paid_usdc_from_the_treasury_in_a_transaction_web3_reads_as_the_expected_transfer(string provider)
    {
        var client = await StartInProcessAsync(provider);
        var destination = await _node.NewKeyAsync();
        var (session, earned, _) = await PayoutFlow.EarningPublisherAsync(client, charges: 3, "solana", destination);

        await PayoutFlow.RunAsync(client);
        var payout = await WaitForPayoutAsync(client, session, "confirmed");

        var tokenAccount = SolanaKey.AssociatedTokenAccount(destination, _treasury.Mint);
        Assert.Equal(Units(earned), await TokenBalanceAsync(tokenAccount));
        Assert.Equal(Funded - Units(earned), await TokenBalanceAsync(_treasury.TokenAccount));
        Assert.Equal("finalized", payout.GetProperty("evidence").GetProperty("commitment").GetString());
        Assert.Equal(earned, (await PayoutFlow.EarningsAsync(client, session)).GetProperty("paid").GetDecimal());
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());

        // The transaction the service signed, as an independent decoder reads it.
        var id = payout.GetProperty("id").GetInt64();
        var stored = await _factory!.Services.GetRequiredService<PayoutStore>().FindAsync(id, CancellationToken.None);
        var sent = JsonNode.Parse(stored!.Prepared!)!["transactions"]!.AsArray().Single()!;
        Assert.Equal(payout.GetProperty("reference").GetString(), sent["signature"]!.GetValue<string>());
        var decoded = JsonDocument.Parse(await NodePeers.RunAsync("solana-payout-check.mjs", sent["transaction"]!.GetValue<string>())).RootElement;
        Assert.True(decoded.GetProperty("signaturesValid").GetBoolean());
        Assert.Equal(_treasury.Owner, decoded.GetProperty("feePayer").GetString());
        var transfer = decoded.GetProperty("transfer");
        Assert.Equal(_treasury.TokenAccount, transfer.GetProperty("source").GetString());
        Assert.Equal(_treasury.Mint, transfer.GetProperty("mint").GetString());
        Assert.Equal(tokenAccount, transfer.GetProperty("destination").GetString());
        Assert.Equal(_treasury.Owner, transfer.GetProperty("authority").GetString());
        Assert.True(transfer.GetProperty("authoritySigned").GetBoolean());
        Assert.Equal(Units(earned).ToString(CultureInfo.InvariantCulture), transfer.GetProperty("amount").GetString());
        Assert.Equal(6, transfer.GetProperty("decimals").GetInt32());
        Assert.Equal($"aisa-payout:{id}", decoded.GetProperty("memo").GetString());
    }

    [Fact]
    public async Task A_transfer_whose_blockhash_expired_unseen_is_signed_anew_and_lands_once()
    {
        using var proxy = new RpcFaultProxy(_node.Url) { Fault = RpcFault.Http500, FaultWhen = body => body.Contains("sendTransaction", StringComparison.Ordinal) };
        var client = await StartInProcessAsync(StorageOptions.Sqlite, proxy.Url);
        var destination = await _node.NewKeyAsync();
        var (session, earned, _) = await PayoutFlow.EarningPublisherAsync(client, charges: 2, "solana", destination);

        await PayoutFlow.RunAsync(client);
        var first = await WaitForPayoutAsync(client, session, "submitted");
        var firstSignature = first.GetProperty("reference").GetString()!;
        // Every send is lost; the chain goes on past the blockhash's last valid height (150 slots, and 32 to finalize).
        await _node.AdvanceAsync(200);
        var renewed = await PayoutFlow.WaitForPayoutAsync(client, session, "submitted", () => Task.CompletedTask, p => p.GetProperty("reference").GetString() != firstSignature);
        proxy.Fault = RpcFault.None;
        var payout = await WaitForPayoutAsync(client, session, "confirmed");

        var stored = await _factory!.Services.GetRequiredService<PayoutStore>().FindAsync(payout.GetProperty("id").GetInt64(), CancellationToken.None);
        var signatures = JsonNode.Parse(stored!.Prepared!)!["transactions"]!.AsArray().Select(t => t!["signature"]!.GetValue<string>()).ToList();
        Assert.Equal(2, signatures.Count);
        Assert.Equal(firstSignature, signatures[0]);
        Assert.Equal(signatures[1], payout.GetProperty("reference").GetString());
        Assert.Equal(renewed.GetProperty("reference").GetString(), signatures[1]);
        var statuses = (await _node.CallAsync("getSignatureStatuses", new JsonArray(signatures[0], signatures[1]), new JsonObject { ["searchTransactionHistory"] = true }))!["value"]!.AsArray();
        Assert.Null(statuses[0]);
        Assert.NotNull(statuses[1]);
        Assert.Equal(Units(earned), await TokenBalanceAsync(SolanaKey.AssociatedTokenAccount(destination, _treasury.Mint)));
        Assert.Equal(Funded - Units(earned), await TokenBalanceAsync(_treasury.TokenAccount));
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());
    }

    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task Killed_once_its_transaction_reached_the_node_the_restarted_service_pays_once(string provider)
    {
        _store = await TestStore.CreateAsync(provider);
        using var proxy = new RpcFaultProxy(_node.Url);
        var destination = await _node.NewKeyAsync();
        var earned = 0m;
        var session = await PayoutFlow.PayAndKillAsync(_store, _directory, Settings(proxy.Url), proxy, "sendTransaction", _services, async client =>
        {
            (var session, earned, _) = await PayoutFlow.EarningPublisherAsync(client, charges: 2, "solana", destination);
            return session;
        });
        var tokenAccount = SolanaKey.AssociatedTokenAccount(destination, _treasury.Mint);
        Assert.Equal(Units(earned), await TokenBalanceAsync(tokenAccount));

        var client = PayoutFlow.Restart(_store, _directory, Settings(proxy.Url), _services);
        var payout = await WaitForPayoutAsync(client, session, "confirmed");

        Assert.Equal(Units(earned), await TokenBalanceAsync(tokenAccount));
        Assert.Equal(Funded - Units(earned), await TokenBalanceAsync(_treasury.TokenAccount));
        // One transaction ever touched the publisher's token account: resumed from the stored bytes, never signed afresh.
        var history = (await _node.CallAsync("getSignaturesForAddress", tokenAccount, new JsonObject { ["commitment"] = "confirmed" }))!.AsArray();
        Assert.Equal(payout.GetProperty("reference").GetString(), Assert.Single(history)!["signature"]!.GetValue<string>());
        Assert.Equal(earned, (await PayoutFlow.EarningsAsync(client, session)).GetProperty("paid").GetDecimal());
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());
    }
}
