using System.Text.Json;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>
/// The Solana watcher against the real Solana runtime (LiteSVM from npm, behind our JSON-RPC front end): every payment is a
/// transaction built and signed by @solana/kit and @solana-program/token and executed by the runtime; the service polls
/// every second and credits at finalized, which the tests give by advancing slots.
/// </summary>
public sealed class SolanaDepositTests : IAsyncLifetime
{
    private SolanaNode _node = null!;
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task InitializeAsync() => _node = await SolanaNode.StartAsync();

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
            await _node.DisposeAsync();
        }
    }

    /// <summary>A service watching a treasury of its own on the node, after its first pass; and a payer holding 1,000 of the test USDC.</summary>
    private async Task<(AisaClient Client, SolanaTreasury Treasury, string Payer)> StartAsync(string provider, Uri? rpc = null, Action<Dictionary<string, string>>? settings = null)
    {
        var treasury = await _node.SetupAsync();
        var payer = await _node.PayerAsync(treasury, 1_000_000_000);
        var store = await TestStore.CreateAsync(provider);
        _owned.Add(store);
        var configured = SolanaWatch.Settings(rpc ?? _node.Url, treasury);
        settings?.Invoke(configured);
        var factory = new SettlementFactory(store, configured);
        _owned.Add(factory);
        var client = new AisaClient(factory.CreateClient());
        await SolanaWatch.WaitForFirstPassAsync(client);
        return (client, treasury, payer);
    }

    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task A_top_up_request_paid_with_its_reference_is_detected_at_confirmed_and_credited_only_at_finalized(string provider)
    {
        var (client, treasury, payer) = await StartAsync(provider);
        var agent = await client.RegisterAgentAsync();

        var request = await client.PostAsync("/api/agent/topup/create-session", new { amount = 2.5m, rail = "solana" }, AisaClient.Bearer(agent.SessionToken));

        Assert.Equal(201, request.Code);
        var reference = request.Body.GetProperty("reference").GetString()!;
        var depositId = request.Body.GetProperty("depositId").GetInt64();
        Assert.Equal(treasury.Owner, request.Body.GetProperty("address").GetString());
        Assert.Equal(treasury.Mint, request.Body.GetProperty("mint").GetString());
        // The treasury's token account as the service derives it is the one the runtime's token program made.
        Assert.Equal(treasury.TokenAccount, request.Body.GetProperty("tokenAccount").GetString());
        Assert.Equal($"solana:{treasury.Owner}?amount=2.5&spl-token={treasury.Mint}&reference={reference}&label=AISA&message=AISA%20wallet%20top-up&memo=aisa%3A{reference}",
            request.Body.GetProperty("url").GetString());
        var pending = Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken));
        Assert.Equal(("pending", reference), (pending.GetProperty("state").GetString(), pending.GetProperty("address").GetString()));

        var (signature, _, _) = await _node.TransferAsync(payer, treasury, new SolanaTransfer(treasury.Owner, 2_500_000, Reference: reference));
        await _node.AdvanceAsync(1);
        var detected = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("detected"), "detected at confirmed");

        // The request itself is filled, named by the transaction and its instruction; nothing is credited before finalized.
        Assert.Equal(depositId, detected.GetProperty("id").GetInt64());
        Assert.Equal(signature, detected.GetProperty("txHash").GetString());
        Assert.Equal((0, 1), (detected.GetProperty("confirmations").GetInt32(), detected.GetProperty("confirmationsRequired").GetInt32()));
        await SolanaWatch.WaitForTwoMorePassesAsync(client);
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));

        await _node.FinalizeAsync();
        var credited = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "credited at finalized");
        await SolanaWatch.WaitForTwoMorePassesAsync(client);

        Assert.Equal(depositId, credited.GetProperty("id").GetInt64());
        Assert.Equal($"{signature}:1", credited.GetProperty("reference").GetString());
        Assert.Equal(2.5m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
        var transfer = Assert.Single((await client.AuditAsync()).GetProperty("accounts").EnumerateArray(), a => a.GetProperty("code").GetString() == "clearing:solana");
        Assert.Equal(-2.5m, transfer.GetProperty("derivedBalance").GetDecimal());
    }

    [Fact]
    public async Task The_agents_own_reference_or_its_memo_credits_the_agent_and_a_payment_naming_nobody_is_held_in_suspense()
    {
        var (client, treasury, payer) = await StartAsync(StorageOptions.Sqlite);
        var agent = await client.RegisterAgentAsync();
        var instructions = await SolanaWatch.InstructionsAsync(client, agent.SessionToken);
        Assert.Equal(treasury.Owner, instructions.GetProperty("address").GetString());
        Assert.Equal((treasury.Mint, 6), (instructions.GetProperty("tokens")[0].GetProperty("address").GetString(), instructions.GetProperty("tokens")[0].GetProperty("decimals").GetInt32()));
        var reference = instructions.GetProperty("reference").GetString()!;

        await _node.TransferAsync(payer, treasury, new SolanaTransfer(treasury.Owner, 1_000_000, Reference: reference));
        await _node.TransferAsync(payer, treasury, new SolanaTransfer(treasury.Owner, 2_000_000, Memo: "aisa:" + reference));
        var (nobody, _, _) = await _node.TransferAsync(payer, treasury, new SolanaTransfer(treasury.Owner, 4_000_000, Memo: "invoice 42"));
        // A reference nobody here made names nobody either.
        await _node.TransferAsync(payer, treasury, new SolanaTransfer(treasury.Owner, 8_000_000, Reference: await _node.NewKeyAsync()));
        await _node.FinalizeAsync();

        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited") && d.GetProperty("amount").GetDecimal() == 2m, "the memo's payment credited");
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited") && d.GetProperty("amount").GetDecimal() == 1m, "the reference's payment credited");
        await SolanaWatch.WaitForTwoMorePassesAsync(client);

        Assert.Equal(3m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(2, (await EvmWatch.DepositEntriesAsync(client, agent.SessionToken)).Length);
        var held = (await client.SendAsync(HttpMethod.Get, "/api/operator/deposits?rail=solana&state=unattributed", headers: AisaClient.Operator())).Body.GetProperty("deposits").EnumerateArray().ToList();
        Assert.Equal([4m, 8m], held.Select(d => d.GetProperty("deposit").GetProperty("amount").GetDecimal()).Order());
        Assert.Contains(held, d => d.GetProperty("deposit").GetProperty("reference").GetString() == $"{nobody}:2");
        Assert.Equal(12m, await SolanaWatch.SuspenseAsync(client));
        var audit = await client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    [Fact]
    public async Task Two_transfers_to_the_treasury_in_one_transaction_credit_each_reference_once()
    {
        var (client, treasury, payer) = await StartAsync(StorageOptions.Postgres);
        var alice = await client.RegisterAgentAsync();
        var bob = await client.RegisterAgentAsync();
        var bobRequest = await client.PostAsync("/api/agent/topup/create-session", new { amount = 2.25m, rail = "solana" }, AisaClient.Bearer(bob.SessionToken));

        var (signature, _, _) = await _node.TransferAsync(payer, treasury,
        [
            new SolanaTransfer(treasury.Owner, 1_500_000, Reference: await SolanaWatch.ReferenceAsync(client, alice.SessionToken)),
            new SolanaTransfer(treasury.Owner, 2_250_000, Reference: bobRequest.Body.GetProperty("reference").GetString()),
        ]);
        await _node.FinalizeAsync();

        var alices = await EvmWatch.WaitForDepositAsync(client, alice.SessionToken, d => d.Is("credited"), "Alice's transfer credited");
        var bobs = await EvmWatch.WaitForDepositAsync(client, bob.SessionToken, d => d.Is("credited"), "Bob's transfer credited");
        await SolanaWatch.WaitForTwoMorePassesAsync(client);

        // One signature, two instructions (each after the token account's creation): two deposits, two credits.
        Assert.Equal((signature, signature), (alices.GetProperty("txHash").GetString(), bobs.GetProperty("txHash").GetString()));
        Assert.Equal(($"{signature}:1", $"{signature}:3"), (alices.GetProperty("reference").GetString(), bobs.GetProperty("reference").GetString()));
        Assert.Equal(bobRequest.Body.GetProperty("depositId").GetInt64(), bobs.GetProperty("id").GetInt64());
        Assert.Equal((1.5m, 2.25m), (await client.BalanceAsync(alice.SessionToken), await client.BalanceAsync(bob.SessionToken)));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, alice.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, bob.SessionToken));
    }

    [Fact]
    public async Task A_failed_transaction_credits_nothing_and_is_recorded_failed_with_its_error()
    {
        var (client, treasury, payer) = await StartAsync(StorageOptions.Sqlite);
        var agent = await client.RegisterAgentAsync();
        var reference = await SolanaWatch.ReferenceAsync(client, agent.SessionToken);

        // More than the payer holds: the token program refuses the transfer, and the transaction lands with its error and fee.
        var (signature, _, error) = await _node.TransferAsync(payer, treasury, new SolanaTransfer(treasury.Owner, 5_000_000_000, Reference: reference), fail: true);
        Assert.NotNull(error);
        await _node.FinalizeAsync();

        var failed = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("failed"), "recorded failed");
        await SolanaWatch.WaitForTwoMorePassesAsync(client);

        Assert.Equal(signature, failed.GetProperty("txHash").GetString());
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
        Assert.Empty(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
        var evidence = (await client.SendAsync(HttpMethod.Get, $"/api/operator/deposits/{failed.GetProperty("id").GetInt64()}", headers: AisaClient.Operator())).Raw;
        Assert.Contains("InstructionError", evidence, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_transaction_on_a_fork_dropped_before_finality_is_detected_then_found_gone_and_never_credited()
    {
        var (client, treasury, payer) = await StartAsync(StorageOptions.Sqlite);
        var agent = await client.RegisterAgentAsync();
        var reference = await SolanaWatch.ReferenceAsync(client, agent.SessionToken);

        var fork = await _node.SnapshotAsync();
        await _node.TransferAsync(payer, treasury, new SolanaTransfer(treasury.Owner, 3_000_000, Reference: reference));
        await _node.AdvanceAsync(1);
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("detected"), "detected on the fork");
        await _node.RevertAsync(fork);

        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("reorged"), "found gone with its fork");
        await _node.FinalizeAsync();
        await SolanaWatch.WaitForTwoMorePassesAsync(client);

        Assert.Equal("reorged", Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken)).GetProperty("state").GetString());
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task More_signatures_than_one_page_are_read_in_bounded_passes_and_each_credited_once()
    {
        var (client, treasury, payer) = await StartAsync(StorageOptions.Sqlite);
        var agent = await client.RegisterAgentAsync();
        var reference = await SolanaWatch.ReferenceAsync(client, agent.SessionToken);

        // 1,003 transactions, none of them visible until all have landed: then more finalized signatures than
        // getSignaturesForAddress answers at once (1,000) and than a pass reads (1,000).
        await _node.SetLagsAsync(1_000_000, 1_000_000);
        await _node.BurstAsync(payer, treasury, 1_003, 10_000, reference);
        await _node.SetLagsAsync(1, SolanaNode.FinalizedLag);
        await _node.FinalizeAsync();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(180);
        while (await client.BalanceAsync(agent.SessionToken) < 10.03m)
        {
            Assert.True(DateTime.UtcNow < deadline, "The 1,003 transfers were not all credited.");
            await Task.Delay(500);
        }
        await SolanaWatch.WaitForTwoMorePassesAsync(client);

        Assert.Equal(10.03m, await client.BalanceAsync(agent.SessionToken));
        // One ledger transfer per deposit, and nothing else moved in this service's ledger.
        var audit = await client.AuditAsync();
        Assert.Equal(1_003, audit.GetProperty("transfers").GetInt64());
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
        var passes = (await client.SendAsync(HttpMethod.Get, $"/api/operator/jobs?job={SolanaWatch.Job}&outcome=succeeded&limit=200", headers: AisaClient.Operator()))
            .Body.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("summary")).ToList();
        Assert.All(passes, summary => Assert.InRange(summary.TryGetProperty("transactionsRead", out var read) ? read.GetInt64() : 0, 0, 1_000));
        Assert.Contains(passes, summary => summary.GetProperty("signaturesListed").GetInt64() == 1_003 && summary.GetProperty("transactionsRead").GetInt64() == 1_000);
    }

    [Fact]
    public async Task The_confirmations_page_shows_a_solana_deposit_waiting_for_finalized_and_its_evidence_names_signature_slot_and_reference()
    {
        var (client, treasury, payer) = await StartAsync(StorageOptions.Sqlite);
        var factory = (SettlementFactory)_owned[^1];
        var agent = await client.RegisterAgentAsync();
        var reference = await SolanaWatch.ReferenceAsync(client, agent.SessionToken);
        var (signature, slot, _) = await _node.TransferAsync(payer, treasury, new SolanaTransfer(treasury.Owner, 1_250_000, Reference: reference));
        await _node.AdvanceAsync(1);
        var detected = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("detected"), "detected");

        var operatorClient = await Dashboard.OperatorLogin.LoggedInAsync(factory);
        var page = JsonDocument.Parse(await operatorClient.GetStringAsync(new Uri("/dashboard/api/confirmations", UriKind.Relative))).RootElement;
        var shown = page.GetProperty("deposits").EnumerateArray().Single(d => d.GetProperty("id").GetInt64() == detected.GetProperty("id").GetInt64());
        Assert.Equal(("solana", "detected", "at finalized"), (shown.GetProperty("rail").GetString(), shown.GetProperty("state").GetString(), shown.GetProperty("finality").GetString()));
        Assert.Contains(page.GetProperty("watchers").EnumerateArray(), w => w.GetProperty("job").GetString() == SolanaWatch.Job);
        var depositPage = await operatorClient.GetStringAsync(new Uri($"/dashboard/deposits/{detected.GetProperty("id").GetInt64()}", UriKind.Relative));
        Assert.Contains(signature, depositPage, StringComparison.Ordinal);
        Assert.Contains(reference, depositPage, StringComparison.Ordinal);
        Assert.Contains($"&quot;slot&quot;:{slot}", depositPage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_that_is_down_errs_garbles_or_stalls_fails_passes_with_the_reason_and_after_it_recovers_every_payment_is_credited_once()
    {
        using var proxy = new RpcFaultProxy(_node.Url);
        var (client, treasury, payer) = await StartAsync(StorageOptions.Sqlite, proxy.Url);
        var agent = await client.RegisterAgentAsync();
        var reference = await SolanaWatch.ReferenceAsync(client, agent.SessionToken);
        var paid = 0L;
        foreach (var (fault, reason) in new[] { (RpcFault.Down, "ConnectionRefused"), (RpcFault.Http500, "HTTP 500"), (RpcFault.MalformedJson, "malformed answer"), (RpcFault.Slow, "timed out") })
        {
            var before = await EvmWatch.LastRunIdAsync(client, SolanaWatch.Job);
            proxy.Fault = fault;
            // Paid and final while the watcher cannot read the node.
            var amount = 1_000_000 + paid / 1_000;
            await _node.TransferAsync(payer, treasury, new SolanaTransfer(treasury.Owner, amount, Reference: reference));
            paid += amount;
            await _node.FinalizeAsync();
            var failed = await EvmWatch.WaitForRunsAsync(client, before, runs => runs.Any(r => r.GetProperty("outcome").GetString() == "failed"), $"a pass failing on {fault}", SolanaWatch.Job);
            Assert.Contains(reason, failed.First(r => r.GetProperty("outcome").GetString() == "failed").GetProperty("error").GetString(), StringComparison.Ordinal);
        }

        proxy.Fault = RpcFault.None;
        var deadline = DateTime.UtcNow + EvmWatch.Patience;
        while (await client.BalanceAsync(agent.SessionToken) * 1_000_000 < paid)
        {
            Assert.True(DateTime.UtcNow < deadline, "The payments made during the faults were not all credited after the recovery.");
            await Task.Delay(200);
        }
        await SolanaWatch.WaitForTwoMorePassesAsync(client);

        Assert.Equal(paid / 1_000_000m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(4, (await EvmWatch.DepositEntriesAsync(client, agent.SessionToken)).Length);
        Assert.All(await EvmWatch.DepositsAsync(client, agent.SessionToken), d => Assert.Equal("credited", d.GetProperty("state").GetString()));
    }

    [Fact]
    public async Task A_payment_in_another_token_to_the_treasury_owner_is_not_a_deposit()
    {
        var (client, treasury, payer) = await StartAsync(StorageOptions.Sqlite);
        var agent = await client.RegisterAgentAsync();
        var reference = await SolanaWatch.ReferenceAsync(client, agent.SessionToken);
        var other = await _node.SetupAsync();
        var otherPayer = await _node.PayerAsync(other, 100_000_000);

        // Another mint's tokens, sent to the same owner with the agent's reference: they land in the owner's account for that mint.
        await _node.TransferAsync(otherPayer, other, new SolanaTransfer(treasury.Owner, 9_000_000, Reference: reference));
        await _node.TransferAsync(payer, treasury, new SolanaTransfer(treasury.Owner, 1_000_000, Reference: reference));
        await _node.FinalizeAsync();

        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "the USDC payment credited");
        await SolanaWatch.WaitForTwoMorePassesAsync(client);
        Assert.Equal(1m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken));
        Assert.Equal(0m, await SolanaWatch.SuspenseAsync(client));
    }
}
