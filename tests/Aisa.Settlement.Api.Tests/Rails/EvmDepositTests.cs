using Microsoft.Extensions.DependencyInjection;
using System.Numerics;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>
/// The EVM watcher against a real local node (ganache from npm) and a test ERC-20 compiled with solc-js: the service
/// runs its Hangfire-scheduled watcher every second with 3 confirmations, and the tests pay as a wallet would.
/// </summary>
public sealed class EvmDepositTests : IAsyncLifetime
{
    private Ganache _node = null!;
    private string _token = null!;
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task InitializeAsync()
    {
        _node = await Ganache.StartAsync(EvmWatch.ChainId);
        // xunit does not dispose a fixture whose start failed: the node must not outlive it.
        _token = await _node.OrStopAsync(n => n.DeployTokenAsync(decimals: 6));
    }

    public async Task DisposeAsync()
    {
        try
        {
            foreach (var owned in Enumerable.Reverse(_owned))
            {
                await owned.DisposeAsync();
            }
        }
        finally
        {
            // A service that failed to stop must not leave the node running.
            await _node.DisposeAsync();
        }
    }

    private async Task<AisaClient> StartServiceAsync(string provider, Uri? rpc = null, string? token = null, int decimals = 6)
    {
        var store = await TestStore.CreateAsync(provider);
        _owned.Add(store);
        var factory = new SettlementFactory(store, EvmWatch.Settings(rpc ?? _node.Url, token ?? _token, decimals));
        _owned.Add(factory);
        return new AisaClient(factory.CreateClient());
    }

    /// <summary>Account 1 (m/44'/60'/1') of the same test mnemonic: another key for the same chain.</summary>
    private const string OtherXpub = "xpub6Ce9NcJvTk372KjsGfWqbcex5DumjpNquQLApoeQUavSCjEc823BV1tb4rXUuPuht8h2hSxkg2EXUaKUJmniJvRZAELxypsCzBFdtosmV76";

    [Theory]
    [InlineData(StorageOptions.Sqlite, false)]
    [InlineData(StorageOptions.Postgres, false)]
    [InlineData(StorageOptions.Sqlite, true)]
    [InlineData(StorageOptions.Postgres, true)]
    public async Task After_the_xpub_changes_the_old_address_stays_watched_agents_get_the_new_keys_address_and_the_log_says_so(string provider, bool storedBeforeKeysWereNamed)
    {
        var store = await TestStore.CreateAsync(provider);
        _owned.Add(store);
        var before = new SettlementFactory(store, EvmWatch.Settings(_node.Url, _token));
        var client = new AisaClient(before.CreateClient());
        var agent = await client.RegisterAgentAsync();
        var oldAddress = await EvmWatch.AddressAsync(client, agent.SessionToken);
        await before.DisposeAsync();
        if (storedBeforeKeysWereNamed)
        {
            // As an address stored by a build before keys were named: the change is found by deriving it again.
            await using var database = store.Provider == StorageOptions.Postgres ? (SqlDatabase)new PostgresDatabase(store.ConnectionString) : new SqliteDatabase(store.ConnectionString);
            await using var connection = await database.OpenAsync(CancellationToken.None);
            await connection.ExecuteAsync(null, "UPDATE deposit_addresses SET key_id = NULL", CancellationToken.None);
        }

        var settings = EvmWatch.Settings(_node.Url, _token);
        settings["Rails:Evm:Chains:base:Xpub"] = OtherXpub;
        var logs = new Observability.CapturedLogs();
        var after = new SettlementFactory(store, settings, services => services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs));
        _owned.Add(after);
        client = new AisaClient(after.CreateClient());
        var newAddress = await EvmWatch.AddressAsync(client, agent.SessionToken);
        var session = await client.PostAsync("/api/agent/topup/create-session", new { amount = 2m, rail = "base" }, AisaClient.Bearer(agent.SessionToken));

        Assert.NotEqual(oldAddress, newAddress);
        Assert.Equal(newAddress, session.Body.GetProperty("address").GetString());
        Assert.Contains(logs.Entries, e => e.Message.Contains("Rail base: its key (xpub) changed: 1 deposit addresses derived from 1 earlier key(s) stay watched", StringComparison.Ordinal));
        // Paid to the address handed out before the change, and to the new one: both credit the agent, once each.
        await _node.TransferAsync(_token, oldAddress, 1_000_000);
        await _node.TransferAsync(_token, newAddress, 2_000_000);
        await _node.MineAsync(EvmWatch.Confirmations);
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited") && d.GetProperty("amount").GetDecimal() == 1m, "the old address's payment credited");
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited") && d.GetProperty("amount").GetDecimal() == 2m, "the new address's payment credited");
        Assert.Equal(3m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(2, (await EvmWatch.DepositEntriesAsync(client, agent.SessionToken)).Length);
    }

    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task Transfers_to_two_agents_credit_each_wallet_once_after_the_confirmations_and_not_before(string provider)
    {
        var client = await StartServiceAsync(provider);
        var alice = await client.RegisterAgentAsync();
        var bob = await client.RegisterAgentAsync();
        var aliceAddress = await EvmWatch.AddressAsync(client, alice.SessionToken);
        var bobAddress = await EvmWatch.AddressAsync(client, bob.SessionToken);
        Assert.NotEqual(aliceAddress, bobAddress);

        // Mined at once: 1 confirmation each. Bob's transfer is one block later than Alice's.
        await _node.TransferAsync(_token, aliceAddress, 12_500_000);
        await _node.TransferAsync(_token, bobAddress, 3_000_001);
        await EvmWatch.WaitForDepositAsync(client, bob.SessionToken, d => d.Is("detected", 1), "detected at 1/3");
        await _node.MineAsync(1);
        var waiting = await EvmWatch.WaitForDepositAsync(client, bob.SessionToken, d => d.Is("confirming", 2), "confirming at 2/3");
        Assert.Equal(3, waiting.GetProperty("confirmationsRequired").GetInt32());
        // Alice's transfer has 3 confirmations now; Bob's 2: only Alice is credited.
        await EvmWatch.WaitForDepositAsync(client, alice.SessionToken, d => d.Is("credited", 3), "credited at 3/3");
        Assert.Equal(12.5m, await client.BalanceAsync(alice.SessionToken));
        Assert.Equal(0m, await client.BalanceAsync(bob.SessionToken));

        await _node.MineAsync(1);
        var bobs = await EvmWatch.WaitForDepositAsync(client, bob.SessionToken, d => d.Is("credited"), "credited");
        Assert.Equal(3.000001m, bobs.GetProperty("amount").GetDecimal());
        // More passes change nothing.
        await _node.MineAsync(3);
        await EvmWatch.WaitForRunsAsync(client, await EvmWatch.LastRunIdAsync(client), runs => runs.Length >= 2, "two more passes");

        Assert.Equal(12.5m, await client.BalanceAsync(alice.SessionToken));
        Assert.Equal(3.000001m, await client.BalanceAsync(bob.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, alice.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, bob.SessionToken));
        Assert.Single(await EvmWatch.DepositsAsync(client, alice.SessionToken));
        var audit = await client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task A_transfer_reorganised_away_is_not_credited_and_credits_once_when_mined_again_elsewhere(string provider)
    {
        var client = await StartServiceAsync(provider);
        var agent = await client.RegisterAgentAsync();
        var address = await EvmWatch.AddressAsync(client, agent.SessionToken);
        var signed = await _node.SignTransferAsync(_token, address, 7_000_000);

        var beforeTransfer = await _node.SnapshotAsync();
        var hash = await _node.SendRawAsync(signed);
        var firstBlock = (await _node.ReceiptAsync(hash))["blockHash"]!.GetValue<string>();
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("detected"), "detected");

        // The chain is reorganised: the block with the transfer is replaced by blocks without it.
        await _node.RevertAsync(beforeTransfer);
        await _node.MineAsync(EvmWatch.Confirmations + 1);
        var reorged = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("reorged"), "reorged");
        Assert.Equal(hash, reorged.GetProperty("txHash").GetString());
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));

        // The same transaction is mined again, in another block.
        Assert.Equal(hash, await _node.SendRawAsync(signed));
        var secondBlock = (await _node.ReceiptAsync(hash))["blockHash"]!.GetValue<string>();
        Assert.NotEqual(firstBlock, secondBlock);
        await _node.MineAsync(EvmWatch.Confirmations);
        var credited = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "credited");

        Assert.Equal(7m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
        Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken));
        var history = await client.SendAsync(HttpMethod.Get, $"/api/operator/deposits/{credited.GetProperty("id").GetInt64()}", headers: AisaClient.Operator());
        var states = history.Body.GetProperty("transitions").EnumerateArray().Select(t => t.GetProperty("to").GetString()).ToList();
        // detected → reorged → detected again (mined elsewhere) → … → credited, once.
        var reorgedAt = states.IndexOf("reorged");
        Assert.True(reorgedAt > 0 && states[0] == "detected" && states[reorgedAt + 1] is "detected" or "confirming", string.Join(" → ", states));
        Assert.Equal("credited", states[^1]);
        Assert.Single(states, "credited");
        var last = history.Body.GetProperty("transitions").EnumerateArray().Last();
        Assert.Equal(secondBlock, last.GetProperty("evidence").GetProperty("blockHash").GetString());
    }

    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task A_credited_transfer_mined_again_after_a_deep_reorganisation_at_another_log_index_is_not_credited_twice(string provider)
    {
        // anvil numbers a block's logs across its transactions (ganache numbers each transaction's from 0).
        var node = await Anvil.StartAsync(EvmWatch.ChainId);
        _owned.Add(node);
        var token = await node.DeployTokenAsync(decimals: 6);
        var client = await StartServiceAsync(provider, node.Url, token);
        var agent = await client.RegisterAgentAsync();
        var address = await EvmWatch.AddressAsync(client, agent.SessionToken);
        var signed = await node.SignTransferAsync(token, address, 5_000_000);
        var beforeTransfer = await node.SnapshotAsync();
        var hash = await node.SendRawAsync(signed);
        Assert.Equal("0x0", (await node.ReceiptAsync(hash))["logs"]![0]!["logIndex"]!.GetValue<string>());
        await node.MineAsync(EvmWatch.Confirmations);
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "credited");

        // Deeper than the confirmations: the credited block is replaced, and the same transaction is mined again behind
        // another transfer, so its log has another index in its new block.
        var beforeReorganisation = await EvmWatch.LastRunIdAsync(client);
        await node.RevertAsync(beforeTransfer);
        var block = await node.MineBehindAMintAsync(token, "0x000000000000000000000000000000000000dead", 1, signed);
        Assert.Equal("0x1", (await node.ReceiptAsync(hash))["logs"]![0]!["logIndex"]!.GetValue<string>());
        // A pass has read the new block (it matched the transfer) before it is buried deeper than the watcher rescans.
        await EvmWatch.WaitForRunsAsync(client, beforeReorganisation, runs => runs.Any(r => r.GetProperty("outcome").GetString() == "succeeded"
            && r.GetProperty("summary").GetProperty("toBlock").GetInt64() >= block && r.GetProperty("summary").GetProperty("logsMatched").GetInt64() >= 1
            && r.GetProperty("summary").GetProperty("fromBlock").GetInt64() <= block), "a pass that read the block again");
        await node.MineAsync(EvmWatch.Confirmations + 1);
        await EvmWatch.WaitForRunsAsync(client, await EvmWatch.LastRunIdAsync(client), runs => runs.Length >= 2, "two more passes");

        Assert.Equal(5m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
        var deposit = Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken));
        Assert.Equal($"{hash}#0", deposit.GetProperty("reference").GetString());
    }

    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task A_deposit_recorded_by_an_earlier_build_under_its_log_index_is_adopted_under_the_new_name_and_credited_once(string provider)
    {
        var client = await StartServiceAsync(provider);
        var store = (TestStore)_owned[^2];
        var agent = await client.RegisterAgentAsync();
        var address = await EvmWatch.AddressAsync(client, agent.SessionToken);
        var hash = await _node.TransferAsync(_token, address, 2_500_000);
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("detected"), "detected");
        // As an earlier build recorded it: named "<tx>:<block-wide log index>", no place in the transaction.
        await using (var database = store.Provider == StorageOptions.Postgres ? (SqlDatabase)new PostgresDatabase(store.ConnectionString) : new SqliteDatabase(store.ConnectionString))
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            Assert.Equal(1, await connection.ExecuteAsync(null, "UPDATE deposits SET external_id = tx_hash || ':' || log_index, log_position = NULL", CancellationToken.None));
        }
        var block = Convert.ToInt64((await _node.ReceiptAsync(hash))["blockNumber"]!.GetValue<string>(), 16);
        var renamedAt = await EvmWatch.LastRunIdAsync(client);
        await EvmWatch.WaitForRunsAsync(client, renamedAt, runs => runs.Any(r => r.GetProperty("outcome").GetString() == "succeeded"
            && r.GetProperty("summary").GetProperty("fromBlock").GetInt64() <= block), "a pass that read the block again");
        var adopted = Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken));
        Assert.Equal($"{hash}#0", adopted.GetProperty("reference").GetString());

        await _node.MineAsync(EvmWatch.Confirmations);
        var credited = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "credited");
        await EvmWatch.WaitForRunsAsync(client, await EvmWatch.LastRunIdAsync(client), runs => runs.Length >= 2, "two more passes");

        Assert.Equal(2.5m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
        Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken));
        Assert.Equal($"{hash}#0", credited.GetProperty("reference").GetString());
        var history = await client.SendAsync(HttpMethod.Get, $"/api/operator/deposits/{credited.GetProperty("id").GetInt64()}", headers: AisaClient.Operator());
        Assert.Equal($"deposit:base:{hash}#0", history.Body.GetProperty("ledgerKey").GetString());
        Assert.Contains(history.Body.GetProperty("transitions").EnumerateArray(), t => t.GetProperty("evidence").TryGetProperty("renamed", out var from) && from.GetString() == $"{hash}:0");
    }

    [Fact]
    public async Task A_catch_up_longer_than_a_pass_is_read_in_bounded_passes_and_credits_every_deposit_once()
    {
        var store = await TestStore.CreateAsync(StorageOptions.Sqlite);
        _owned.Add(store);
        var settings = EvmWatch.Settings(_node.Url, _token);
        settings["Rails:Evm:Chains:base:MaxBlocksPerPass"] = "6";
        var first = new SettlementFactory(store, settings);
        var client = new AisaClient(first.CreateClient());
        var agent = await client.RegisterAgentAsync();
        var address = await EvmWatch.AddressAsync(client, agent.SessionToken);
        await EvmWatch.WaitForRunsAsync(client, 0, runs => runs.Length >= 1, "a first pass");
        await first.DisposeAsync();

        // Down while 30 blocks were mined, with a payment early and one late in them.
        var from = await _node.BlockNumberAsync();
        await _node.TransferAsync(_token, address, 1_000_000);
        await _node.MineAsync(25);
        await _node.TransferAsync(_token, address, 2_000_000);
        await _node.MineAsync(EvmWatch.Confirmations);
        var head = await _node.BlockNumberAsync();
        var restarted = new SettlementFactory(store, settings);
        _owned.Add(restarted);
        client = new AisaClient(restarted.CreateClient());

        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited") && d.GetProperty("amount").GetDecimal() == 2m, "the late payment credited");
        var runs = await EvmWatch.WaitForRunsAsync(client, 0, r => r.Length >= 1, "the passes");

        var passes = runs.Where(r => r.GetProperty("outcome").GetString() == "succeeded").Select(r => r.GetProperty("summary")).ToList();
        Assert.All(passes, summary => Assert.InRange(summary.GetProperty("blocksScanned").GetInt64(), 0, 6));
        Assert.True(passes.Count(summary => summary.GetProperty("fromBlock").GetInt64() > from) >= (head - from) / 6, string.Join(" ", passes));
        Assert.Equal(3m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(2, (await EvmWatch.DepositEntriesAsync(client, agent.SessionToken)).Length);
    }

    [Fact]
    public async Task A_failure_late_in_a_pass_keeps_what_the_pass_read_before_it()
    {
        using var proxy = new RpcFaultProxy(_node.Url);
        var client = await StartServiceAsync(StorageOptions.Sqlite, proxy.Url);
        var agent = await client.RegisterAgentAsync();
        var address = await EvmWatch.AddressAsync(client, agent.SessionToken);
        await EvmWatch.WaitForRunsAsync(client, 0, runs => runs.Length >= 1, "a first pass");
        // Every eth_getLogs of blocks from here on fails: a pass reads the payment's range, then fails further on.
        var failFrom = await _node.BlockNumberAsync() + 12;
        proxy.FaultWhen = body => LogsFrom(body) >= failFrom;
        proxy.Fault = RpcFault.Http500;
        await _node.TransferAsync(_token, address, 4_000_000);
        await _node.MineAsync(20);

        var credited = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "credited by passes that fail later on");
        var failing = await EvmWatch.WaitForRunsAsync(client, 0, runs => runs.Count(r => r.GetProperty("outcome").GetString() == "failed") >= 2, "failing passes");

        Assert.Equal(4m, await client.BalanceAsync(agent.SessionToken));
        Assert.Contains("500", failing.Last(r => r.GetProperty("outcome").GetString() == "failed").GetProperty("error").GetString(), StringComparison.Ordinal);
        proxy.Fault = RpcFault.None;
        await EvmWatch.WaitForRunsAsync(client, await EvmWatch.LastRunIdAsync(client), runs => runs.Count(r => r.GetProperty("outcome").GetString() == "succeeded") >= 2, "passes after the recovery");
        Assert.Equal(4m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
        Assert.Equal(credited.GetProperty("id").GetInt64(), Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken)).GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task A_pass_longer_than_the_lease_keeps_it_and_no_other_instance_runs_the_watcher_meanwhile()
    {
        // A slow node and one block per eth_getLogs: the first pass reads 40 blocks at 250 ms each, longer than the 6 s lease.
        using var slow = new RpcFaultProxy(_node.Url) { Delay = TimeSpan.FromMilliseconds(250) };
        await _node.MineAsync(40);
        var store = await TestStore.CreateAsync(StorageOptions.Postgres);
        _owned.Add(store);
        var settings = EvmWatch.Settings(slow.Url, _token, leaseSeconds: 6);
        settings["Rails:Evm:Chains:base:MaxBlockRange"] = "1";
        settings["Rails:Evm:Chains:base:RpcTimeoutSeconds"] = "5";
        var one = new SettlementFactory(store, settings);
        _owned.Add(one);
        var two = new SettlementFactory(store, settings);
        _owned.Add(two);
        var client = new AisaClient(one.CreateClient());

        var runs = await EvmWatch.WaitForRunsAsync(client, 0, r => r.Any(run => Duration(run) > TimeSpan.FromSeconds(6)) && r.Length >= 4, "a pass longer than the lease, and more");

        var ordered = runs.OrderBy(r => r.GetProperty("startedAt").GetDateTimeOffset()).ToList();
        Assert.All(ordered, r => Assert.Equal("succeeded", r.GetProperty("outcome").GetString()));
        for (var i = 1; i < ordered.Count; i++)
        {
            // Never two passes at once: each starts after the one before it ended, on whichever instance.
            Assert.True(ordered[i].GetProperty("startedAt").GetDateTimeOffset() >= ordered[i - 1].GetProperty("endedAt").GetDateTimeOffset(),
                $"run {ordered[i].GetProperty("id")} started during run {ordered[i - 1].GetProperty("id")}");
        }
    }

    private static TimeSpan Duration(System.Text.Json.JsonElement run) =>
        run.GetProperty("endedAt").GetDateTimeOffset() - run.GetProperty("startedAt").GetDateTimeOffset();

    /// <summary>The first block of the eth_getLogs calls in a JSON-RPC request body (a single call or a batch); -1 for none.</summary>
    private static long LogsFrom(string body)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(body);
        var calls = node is System.Text.Json.Nodes.JsonArray batch ? batch.ToList() : [node];
        return calls.Where(c => c?["method"]?.GetValue<string>() == "eth_getLogs")
            .Select(c => Convert.ToInt64(c!["params"]![0]!["fromBlock"]!.GetValue<string>(), 16))
            .DefaultIfEmpty(-1).Max();
    }

    [Fact]
    public async Task A_top_up_session_on_a_chain_gives_the_address_and_the_payment_fills_that_pending_deposit()
    {
        var client = await StartServiceAsync(StorageOptions.Sqlite);
        var agent = await client.RegisterAgentAsync();
        var auth = AisaClient.Bearer(agent.SessionToken);

        var notEnabled = await client.PostAsync("/api/agent/topup/create-session", new { amount = 5 }, auth);
        var tooSmall = await client.PostAsync("/api/agent/topup/create-session", new { amount = 0.49m, rail = "base" }, auth);
        var unknownField = await client.PostAsync("/api/agent/topup/create-session", new { amount = 5, rail = "base", chain = 1 }, auth);
        var anonymous = await client.PostAsync("/api/agent/topup/create-session", new { amount = 5, rail = "base" });
        Assert.Equal((400, "rail_not_enabled"), (notEnabled.Code, notEnabled.Error));
        Assert.Contains("enabled: base", notEnabled.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal((400, "invalid_amount"), (tooSmall.Code, tooSmall.Error));
        Assert.Equal((400, "invalid_request"), (unknownField.Code, unknownField.Error));
        Assert.Equal(401, anonymous.Code);
        Assert.Empty(await EvmWatch.DepositsAsync(client, agent.SessionToken));

        var session = await client.PostAsync("/api/agent/topup/create-session", new { amount = 5, rail = "base" }, auth);
        Assert.True(session.Code == 201, session.Raw);
        Assert.Equal(EvmWatch.ChainId, session.Body.GetProperty("chainId").GetInt64());
        var address = session.Body.GetProperty("address").GetString()!;
        Assert.Equal(address, await EvmWatch.AddressAsync(client, agent.SessionToken));
        Assert.Equal(_token, session.Body.GetProperty("tokens")[0].GetProperty("address").GetString()!, ignoreCase: true);
        var depositId = session.Body.GetProperty("depositId").GetInt64();
        var pending = Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken));
        Assert.True(pending.Is("pending", 0));
        Assert.Equal(5m, pending.GetProperty("amount").GetDecimal());

        // The agent sends a little more than it said: what arrived is credited, to the deposit it asked for.
        await _node.TransferAsync(_token, address, 5_100_000);
        await _node.MineAsync(EvmWatch.Confirmations);
        var credited = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "credited");

        Assert.Equal(depositId, credited.GetProperty("id").GetInt64());
        Assert.Equal(5.1m, credited.GetProperty("amount").GetDecimal());
        Assert.Equal(5m, credited.GetProperty("requestedAmount").GetDecimal());
        Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken));
        Assert.Equal(5.1m, await client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task An_18_decimal_token_credits_whole_micros_and_keeps_the_rest_as_evidence()
    {
        var token = await _node.DeployTokenAsync(decimals: 18);
        var client = await StartServiceAsync(StorageOptions.Sqlite, token: token, decimals: 18);
        var agent = await client.RegisterAgentAsync();
        var address = await EvmWatch.AddressAsync(client, agent.SessionToken);

        // 1.234567 USD and 890123456789 atomic units below one micro; then a transfer worth less than one micro.
        await _node.TransferAsync(token, address, BigInteger.Parse("1234567890123456789", System.Globalization.CultureInfo.InvariantCulture));
        await _node.TransferAsync(token, address, 999_999_999_999);
        await _node.MineAsync(EvmWatch.Confirmations);
        var credited = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "credited");
        var dust = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("failed"), "failed for dust");

        Assert.Equal(1.234567m, credited.GetProperty("amount").GetDecimal());
        Assert.Equal(1.234567m, await client.BalanceAsync(agent.SessionToken));
        var history = await client.SendAsync(HttpMethod.Get, $"/api/operator/deposits/{credited.GetProperty("id").GetInt64()}", headers: AisaClient.Operator());
        var evidence = history.Body.GetProperty("transitions")[0].GetProperty("evidence");
        Assert.Equal("1234567890123456789", evidence.GetProperty("tokenAmount").GetString());
        Assert.Equal("890123456789", evidence.GetProperty("belowOneMicro").GetString());
        var refused = await client.SendAsync(HttpMethod.Get, $"/api/operator/deposits/{dust.GetProperty("id").GetInt64()}", headers: AisaClient.Operator());
        Assert.Contains("below one micro", refused.Body.GetProperty("transitions")[0].GetProperty("evidence").GetProperty("refused").GetString(), StringComparison.Ordinal);
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
    }

    [Fact]
    public async Task Rpc_faults_fail_the_job_with_the_reason_and_the_deposit_credits_once_when_the_node_is_back()
    {
        using var proxy = new RpcFaultProxy(_node.Url);
        var client = await StartServiceAsync(StorageOptions.Postgres, proxy.Url);
        var agent = await client.RegisterAgentAsync();
        var address = await EvmWatch.AddressAsync(client, agent.SessionToken);
        await EvmWatch.WaitForRunsAsync(client, 0, runs => runs.Any(r => r.GetProperty("outcome").GetString() == "succeeded"), "a first pass");

        await _node.TransferAsync(_token, address, 2_000_000);
        await _node.MineAsync(EvmWatch.Confirmations);
        var expected = new Dictionary<RpcFault, string>
        {
            [RpcFault.Down] = "ConnectionRefused",
            [RpcFault.Http500] = "HTTP 500",
            [RpcFault.MalformedJson] = "malformed answer",
            [RpcFault.Slow] = "timed out",
        };
        foreach (var (fault, reason) in expected)
        {
            var before = await EvmWatch.LastRunIdAsync(client);
            proxy.Fault = fault;
            var runs = await EvmWatch.WaitForRunsAsync(client, before,
                r => r.Count(run => run.GetProperty("outcome").GetString() == "failed" && run.GetProperty("error").GetString()!.Contains(reason, StringComparison.Ordinal)) >= 2,
                $"two failed runs for {fault}");
            var failed = runs.Where(r => r.GetProperty("outcome").GetString() == "failed").ToList();
            // Failures in a row count up as attempts; the error names the host, never the URL's path.
            Assert.Contains(failed, r => r.GetProperty("attempt").GetInt32() >= 2);
            Assert.All(failed, r => Assert.Contains("127.0.0.1", r.GetProperty("error").GetString()!, StringComparison.Ordinal));
            Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
        }

        proxy.Fault = RpcFault.None;
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "credited after recovery");
        await EvmWatch.WaitForRunsAsync(client, await EvmWatch.LastRunIdAsync(client), runs => runs.Length >= 2, "two more passes");
        Assert.Equal(2m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
    }
}
