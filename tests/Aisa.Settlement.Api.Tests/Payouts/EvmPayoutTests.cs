using System.Globalization;
using System.Net;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aisa.Settlement.Api.Tests.Rails;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Storage.Payouts;
using Aisa.Settlement.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Api.Tests.Payouts;

/// <summary>
/// Publisher payouts on a real local EVM node (anvil): USDC sent from the hot wallet, signed by the service as viem signs
/// it, confirmed at the chain's depth; approvals and cancels; charges running during a payout run; and the service killed
/// the moment its transaction reached the node, restarted without paying twice.
/// </summary>
public sealed class EvmPayoutTests : IAsyncLifetime
{
    /// <summary>Account #2 of anvil's "test test … junk" wallet: the hot wallet (test chains only).</summary>
    private const string HotWalletKey = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
    private const string HotWallet = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";

    private Anvil _node = null!;
    private string _token = null!;
    private TestStore? _store;
    private readonly List<IAsyncDisposable> _disposables = [];
    private readonly List<ChildProcess> _services = [];
    private readonly string _directory = Directory.CreateTempSubdirectory("aisa-payouts-").FullName;

    public async Task InitializeAsync()
    {
        _node = await Anvil.StartAsync(EvmWatch.ChainId);
        _token = await _node.DeployTokenAsync(decimals: 6);
        await _node.TransferAsync(_token, HotWallet, 1_000_000_000);
    }

    public async Task DisposeAsync()
    {
        foreach (var service in _services)
        {
            service.Dispose();
        }
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }
        await _node.DisposeAsync();
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
        Directory.Delete(_directory, recursive: true);
    }

    private Dictionary<string, string> Settings(Uri rpc, decimal? approvalThreshold = null, int replaceAfterSeconds = 180)
    {
        var settings = EvmWatch.Settings(rpc, _token);
        settings["Rails:Evm:Chains:base:Payouts:PrivateKey"] = HotWalletKey;
        settings["Rails:Evm:Chains:base:Payouts:ReplaceAfterSeconds"] = replaceAfterSeconds.ToString(CultureInfo.InvariantCulture);
        // Never during a test: runs are started by the operator.
        settings["Payouts:Schedule"] = "0 0 1 1 *";
        settings["Payouts:PollIntervalSeconds"] = "1";
        settings["Payouts:Minimums:base"] = "1";
        if (approvalThreshold is { } threshold)
        {
            settings["Payouts:ApprovalThreshold"] = threshold.ToString(CultureInfo.InvariantCulture);
        }
        return settings;
    }

    private async Task<AisaClient> StartInProcessAsync(string provider, decimal? approvalThreshold = null, int replaceAfterSeconds = 180)
    {
        _store = await TestStore.CreateAsync(provider);
        var factory = new SettlementFactory(_store, Settings(_node.Url, approvalThreshold, replaceAfterSeconds));
        _disposables.Add(factory);
        _factory = factory;
        return new AisaClient(factory.CreateClient());
    }

    private SettlementFactory? _factory;




    private static BigInteger Units(decimal usd) => new(usd * 1_000_000m);

    /// <summary>A publisher that earned from <paramref name="charges"/> charges, paid on base at a fresh address (given all lowercase).</summary>
    private static async Task<(string Session, string Destination, decimal Earned, string Domain)> EarningPublisherAsync(AisaClient client, int charges)
    {
        var destination = "0x" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + "0badc0de";
        var (session, earned, domain) = await PayoutFlow.EarningPublisherAsync(client, charges, "base", destination);
        return (session, destination, earned, domain);
    }

    private Task<JsonElement> WaitForPayoutAsync(AisaClient client, string session, string state) =>
        PayoutFlow.WaitForPayoutAsync(client, session, state, () => _node.MineAsync(1));

    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task A_publishers_earnings_are_paid_in_usdc_signed_as_viem_signs_and_confirmed_at_depth(string provider)
    {
        var client = await StartInProcessAsync(provider);
        var (session, destination, earned, _) = await EarningPublisherAsync(client, charges: 3);

        var settings = await client.SendAsync(HttpMethod.Get, "/api/publisher/payout-settings", headers: AisaClient.Bearer(session));
        Assert.Equal(200, settings.Code);
        // Stored and paid in its EIP-55 form.
        var checksummed = settings.Body.GetProperty("payoutSettings").GetProperty("destination").GetString()!;
        Assert.Equal(destination, checksummed.ToLowerInvariant());
        Assert.NotEqual(destination, checksummed);

        await PayoutFlow.RunAsync(client);
        var payout = await WaitForPayoutAsync(client, session, "confirmed");

        Assert.Equal(earned, payout.GetProperty("amount").GetDecimal());
        Assert.Equal(Units(earned), await _node.BalanceOfAsync(_token, destination));
        Assert.True(payout.GetProperty("confirmations").GetInt32() >= EvmWatch.Confirmations);
        var txHash = payout.GetProperty("reference").GetString()!;
        Assert.Equal(txHash, payout.GetProperty("evidence").GetProperty("txHash").GetString());
        var earnings = await PayoutFlow.EarningsAsync(client, session);
        Assert.Equal(0m, earnings.GetProperty("available").GetDecimal());
        Assert.Equal(0m, earnings.GetProperty("inFlight").GetDecimal());
        Assert.Equal(earned, earnings.GetProperty("paid").GetDecimal());
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());

        // The raw transaction the service stored and broadcast is, byte for byte, what viem signs for the same inputs.
        var stored = await _factory!.Services.GetRequiredService<PayoutStore>().FindAsync(payout.GetProperty("id").GetInt64(), CancellationToken.None);
        var prepared = JsonNode.Parse(stored!.Prepared!)!;
        var sent = prepared["transactions"]!.AsArray().Single()!;
        var viem = await NodePeers.RunAsync("evm-sign.mjs", EvmWatch.ChainId.ToString(CultureInfo.InvariantCulture), HotWalletKey, _token, prepared["data"]!.GetValue<string>(),
            prepared["nonce"]!.GetValue<string>(), prepared["gas"]!.GetValue<string>(), sent["maxFeePerGas"]!.GetValue<string>(), sent["maxPriorityFeePerGas"]!.GetValue<string>());
        Assert.Equal(viem, sent["raw"]!.GetValue<string>());
        var onChain = await _node.CallAsync("eth_getTransactionByHash", txHash);
        Assert.Equal(HotWallet, onChain!["from"]!.GetValue<string>().ToLowerInvariant());
        Assert.Equal(_token.ToLowerInvariant(), onChain["to"]!.GetValue<string>().ToLowerInvariant());
    }

    [Fact]
    public async Task A_payout_above_the_threshold_waits_for_an_operator_who_approves_one_and_cancels_another()
    {
        var client = await StartInProcessAsync(StorageOptions.Sqlite, approvalThreshold: 2m);
        var (approvedSession, approvedDestination, approvedEarned, _) = await EarningPublisherAsync(client, charges: 2);
        var (cancelledSession, cancelledDestination, cancelledEarned, _) = await EarningPublisherAsync(client, charges: 3);

        await PayoutFlow.RunAsync(client);
        var approved = await WaitForPayoutAsync(client, approvedSession, "awaiting_approval");
        var cancelled = await WaitForPayoutAsync(client, cancelledSession, "awaiting_approval");
        Assert.Equal(approvedEarned, (await PayoutFlow.EarningsAsync(client, approvedSession)).GetProperty("inFlight").GetDecimal());

        // The operator approves on the dashboard (a form with its antiforgery token) and cancels through the operator API.
        var approvedId = approved.GetProperty("id").GetInt64();
        using var dashboard = await Dashboard.OperatorLogin.LoggedInAsync(_factory!);
        Assert.Contains("2 awaiting approval", await dashboard.GetStringAsync(new Uri("/dashboard", UriKind.Relative)), StringComparison.Ordinal);
        var waitingPage = await dashboard.GetStringAsync(new Uri("/dashboard/payouts?state=awaiting_approval", UriKind.Relative));
        Assert.Contains($"action=\"/dashboard/payouts/{approvedId}/approve\"", waitingPage, StringComparison.Ordinal);
        var forged = await Dashboard.OperatorLogin.PostFormAsync(dashboard, $"/dashboard/payouts/{approvedId}/approve", csrf: null);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Equal("awaiting_approval", (await PayoutFlow.PayoutsAsync(client, approvedSession))[0].GetProperty("state").GetString());
        var approve = await Dashboard.OperatorLogin.PostFormAsync(dashboard, $"/dashboard/payouts/{approvedId}/approve",
            await Dashboard.OperatorLogin.CsrfAsync(dashboard, "/dashboard/payouts"));
        var cancel = await client.PostAsync($"/api/operator/payouts/{cancelled.GetProperty("id").GetInt64()}/cancel", new { }, AisaClient.Operator());
        var approveAgain = await client.PostAsync($"/api/operator/payouts/{approved.GetProperty("id").GetInt64()}/approve", new { }, AisaClient.Operator());
        var unknown = await client.PostAsync("/api/operator/payouts/999999/approve", new { }, AisaClient.Operator());
        var withoutKey = await client.PostAsync($"/api/operator/payouts/{approved.GetProperty("id").GetInt64()}/cancel", new { });

        Assert.True(cancel.Code == 200, cancel.Raw);
        Assert.Equal("cancelled", cancel.Body.GetProperty("payout").GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.Redirect, approve.StatusCode);
        Assert.Equal(409, approveAgain.Code);
        Assert.Equal(404, unknown.Code);
        Assert.Equal(401, withoutKey.Code);
        await WaitForPayoutAsync(client, approvedSession, "confirmed");
        Assert.Equal(Units(approvedEarned), await _node.BalanceOfAsync(_token, approvedDestination));
        Assert.Equal(BigInteger.Zero, await _node.BalanceOfAsync(_token, cancelledDestination));
        var restored = await PayoutFlow.EarningsAsync(client, cancelledSession);
        Assert.Equal(cancelledEarned, restored.GetProperty("available").GetDecimal());
        Assert.Equal(0m, restored.GetProperty("inFlight").GetDecimal());
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());
    }

    [Fact]
    public async Task A_transaction_left_unmined_is_replaced_with_the_same_nonce_and_a_higher_fee_and_only_one_is_mined()
    {
        var client = await StartInProcessAsync(StorageOptions.Sqlite, replaceAfterSeconds: 1);
        var (session, destination, earned, _) = await EarningPublisherAsync(client, charges: 2);
        // The node keeps what it is sent in its pool: nothing is mined until the test says so.
        await _node.CallAsync("evm_setAutomine", false);

        await PayoutFlow.RunAsync(client);
        var first = await PayoutFlow.WaitForPayoutAsync(client, session, "submitted", () => Task.CompletedTask);
        var firstHash = first.GetProperty("reference").GetString()!;
        var replaced = await PayoutFlow.WaitForPayoutAsync(client, session, "submitted", () => Task.CompletedTask, p => p.GetProperty("reference").GetString() != firstHash);
        await _node.CallAsync("evm_setAutomine", true);
        var payout = await WaitForPayoutAsync(client, session, "confirmed");

        var stored = await _factory!.Services.GetRequiredService<PayoutStore>().FindAsync(payout.GetProperty("id").GetInt64(), CancellationToken.None);
        var sends = JsonNode.Parse(stored!.Prepared!)!["transactions"]!.AsArray();
        Assert.True(sends.Count >= 2);
        Assert.Equal(firstHash, sends[0]!["hash"]!.GetValue<string>());
        var mined = payout.GetProperty("reference").GetString()!;
        Assert.NotEqual(firstHash, mined);
        Assert.Contains(sends, s => s!["hash"]!.GetValue<string>() == mined);
        Assert.Null(await _node.CallAsync("eth_getTransactionReceipt", firstHash));
        var fees = sends.Select(s => BigInteger.Parse(s!["maxFeePerGas"]!.GetValue<string>(), CultureInfo.InvariantCulture)).ToList();
        Assert.True(fees[1] > fees[0] * 11 / 10, $"a replacement pays more than 10% above the one it replaces: {fees[0]} then {fees[1]}");
        Assert.Equal(replaced.GetProperty("reference").GetString(), sends[1]!["hash"]!.GetValue<string>());
        Assert.Equal(Units(earned), await _node.BalanceOfAsync(_token, destination));
        Assert.Equal("0x1", (await _node.CallAsync("eth_getTransactionCount", HotWallet, "latest"))!.GetValue<string>());
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());
    }

    [Fact]
    public async Task Two_instances_running_payout_runs_at_once_on_one_PostgreSQL_make_one_payout_of_the_money()
    {
        var client = await StartInProcessAsync(StorageOptions.Postgres);
        var second = new SettlementFactory(_store!, Settings(_node.Url));
        _disposables.Add(second);
        var (session, destination, earned, _) = await EarningPublisherAsync(client, charges: 2);

        // Past the run job's lease: both instances' state machines asked to run at the same moment, five times over.
        var runners = new[] { _factory!, second }.Select(f => f.Services.GetRequiredService<Aisa.Settlement.Api.Payouts.PayoutProcessor>()).ToArray();
        for (var round = 0; round < 5; round++)
        {
            await Task.WhenAll(runners.Select(r => Task.Run(() => r.RunAsync(CancellationToken.None))));
        }
        await Task.WhenAll(PayoutFlow.RunAsync(client), PayoutFlow.RunAsync(new AisaClient(second.CreateClient())));
        var payout = await WaitForPayoutAsync(client, session, "confirmed");

        Assert.Equal(1, (await PayoutFlow.PayoutsAsync(client, session)).GetArrayLength());
        Assert.Equal(earned, payout.GetProperty("amount").GetDecimal());
        Assert.Equal(Units(earned), await _node.BalanceOfAsync(_token, destination));
        Assert.Equal("0x1", (await _node.CallAsync("eth_getTransactionCount", HotWallet, "latest"))!.GetValue<string>());
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());
    }

    [Fact]
    public async Task Bad_payout_settings_get_a_clear_400_and_change_nothing()
    {
        var client = await StartInProcessAsync(StorageOptions.Sqlite);
        var (session, destination, _, _) = await EarningPublisherAsync(client, charges: 1);
        var auth = AisaClient.Bearer(session);
        // EIP-55's own example (0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed) with one letter's case changed: a mistyped address.
        const string mistyped = "0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

        async Task<(int Code, string? Error)> PutAsync(object body)
        {
            var reply = await client.SendAsync(HttpMethod.Put, "/api/publisher/payout-settings", JsonSerializer.Serialize(body), auth);
            return (reply.Code, reply.Code == 200 ? null : reply.Body.GetProperty("error").GetString());
        }

        Assert.Equal((400, "invalid_rail"), await PutAsync(new { rail = "stripe", destination, minimumAmount = 5m }));
        Assert.Equal((400, "invalid_destination"), await PutAsync(new { rail = "base", destination = mistyped, minimumAmount = 5m }));
        Assert.Equal((400, "invalid_destination"), await PutAsync(new { rail = "base", destination = "0x" + new string('0', 40), minimumAmount = 5m }));
        Assert.Equal((400, "invalid_destination"), await PutAsync(new { rail = "base", destination = "0x1234", minimumAmount = 5m }));
        Assert.Equal((400, "invalid_minimum"), await PutAsync(new { rail = "base", destination, minimumAmount = 0.5m }));
        var kept = await client.SendAsync(HttpMethod.Get, "/api/publisher/payout-settings", headers: auth);
        Assert.Equal(1m, kept.Body.GetProperty("payoutSettings").GetProperty("minimumAmount").GetDecimal());

        // Below its minimum the publisher is not paid; nothing moves.
        Assert.Equal((200, null), await PutAsync(new { rail = "base", destination, minimumAmount = 5m }));
        await PayoutFlow.RunAndWaitAsync(client);
        Assert.Equal(0, (await PayoutFlow.PayoutsAsync(client, session)).GetArrayLength());
        Assert.Equal(1.35m, (await PayoutFlow.EarningsAsync(client, session)).GetProperty("available").GetDecimal());
    }


    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task Charges_during_a_payout_run_never_make_a_payout_larger_than_the_payable(string provider)
    {
        var client = await StartInProcessAsync(provider);
        var agent = await client.RegisterAgentAsync();
        await client.FundAsync(agent.Id, 100m);
        var (session, _, earned, domain) = await EarningPublisherAsync(client, charges: 2);

        var charges = Enumerable.Range(0, 20).Select(i => client.VerifyAsync(new { publisherDomain = domain, resourceUrl = $"/during/{i}", crawlerMaxPrice = "USD 1.50" }, agent.CrawlerToken)).ToList();
        await PayoutFlow.RunAsync(client);
        var replies = await Task.WhenAll(charges);
        var charged = replies.Count(r => r.Status == HttpStatusCode.OK);
        var payout = await WaitForPayoutAsync(client, session, "confirmed");
        var earnings = await PayoutFlow.EarningsAsync(client, session);

        var total = earned + charged * 1.35m;
        var paid = payout.GetProperty("amount").GetDecimal();
        Assert.InRange(paid, earned, total);
        Assert.Equal(total - paid, earnings.GetProperty("available").GetDecimal());
        Assert.Equal(paid, earnings.GetProperty("paid").GetDecimal());
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());
    }

    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task Killed_once_its_transaction_reached_the_node_the_restarted_service_pays_once(string provider)
    {
        _store = await TestStore.CreateAsync(provider);
        using var proxy = new RpcFaultProxy(_node.Url);
        var destination = "";
        var earned = 0m;
        var session = await PayoutFlow.PayAndKillAsync(_store, _directory, Settings(proxy.Url), proxy, "eth_sendRawTransaction", _services, async client =>
        {
            (var session, destination, earned, _) = await EarningPublisherAsync(client, charges: 2);
            return session;
        });
        var sent = await _node.CallAsync("eth_getTransactionCount", HotWallet, "pending");
        Assert.Equal("0x1", sent!.GetValue<string>());

        var client = PayoutFlow.Restart(_store, _directory, Settings(proxy.Url), _services);
        var payout = await WaitForPayoutAsync(client, session, "confirmed");

        Assert.Equal(Units(earned), await _node.BalanceOfAsync(_token, destination));
        // One transaction of the hot wallet ever: resumed from the stored bytes, never signed afresh.
        Assert.Equal("0x1", (await _node.CallAsync("eth_getTransactionCount", HotWallet, "latest"))!.GetValue<string>());
        Assert.Equal(earned, payout.GetProperty("amount").GetDecimal());
        Assert.Equal(earned, (await PayoutFlow.EarningsAsync(client, session)).GetProperty("paid").GetDecimal());
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());
    }

}
