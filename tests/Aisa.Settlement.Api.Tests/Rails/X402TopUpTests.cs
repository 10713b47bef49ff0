using System.Net;
using System.Numerics;
using System.Text.Json.Nodes;
using Aisa.Settlement.Paywall;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>
/// The x402 top-up paid by the official x402 client (@x402/fetch), verified and settled by the official facilitator
/// (@x402/core + @x402/evm) on ganache with an EIP-3009 test USDC compiled by solc-js.
/// </summary>
public sealed class X402TopUpTests : IAsyncLifetime
{
    private const string Treasury = "0x1111111111111111111111111111111111111111";
    private Ganache _node = null!;
    private X402Facilitator _facilitator = null!;
    private string _usdc = null!;
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task InitializeAsync()
    {
        _node = await Ganache.StartAsync(EvmWatch.ChainId);
        _usdc = await _node.OrStopAsync(n => n.DeployUsdcAsync());
        _facilitator = await _node.OrStopAsync(X402Facilitator.StartAsync);
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
            // A service that failed to stop must not leave the facilitator and the node running.
            await _facilitator.DisposeAsync();
            await _node.DisposeAsync();
        }
    }

    private async Task<AisaClient> StartServiceAsync(Uri facilitator, int facilitatorTimeoutSeconds = 20, long chainId = EvmWatch.ChainId,
        IReadOnlyDictionary<string, string>? more = null)
    {
        var store = await TestStore.CreateAsync(StorageOptions.Postgres);
        _owned.Add(store);
        var settings = new Dictionary<string, string>
        {
            ["Rails:X402:FacilitatorUrl"] = facilitator.ToString(),
            ["Rails:X402:Network"] = $"eip155:{chainId}",
            ["Rails:X402:PayTo"] = Treasury,
            ["Rails:X402:Asset"] = _usdc,
            ["Rails:X402:AssetName"] = "USD Coin",
            ["Rails:X402:AssetVersion"] = "2",
            ["Rails:X402:FacilitatorTimeoutSeconds"] = facilitatorTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Rails:X402:RpcUrls:0"] = _node.Url.ToString(),
            ["Rails:X402:ReconcileIntervalSeconds"] = "1",
            ["Scheduling:LeaseSeconds"] = "3",
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }
        var factory = new SettlementFactory(store, settings);
        _owned.Add(factory);
        return new AisaClient(factory.CreateClient());
    }

    private static Task<JsonObject> PayAsync(AisaClient client, string path, Registered agent) =>
        X402Facilitator.PayAsync(new Uri(client.Http.BaseAddress!, path), "POST", EvmWatch.ChainId, $"X-AISA-Crawler-Token:{agent.CrawlerToken}");

    private static Task<Reply> ReplayAsync(AisaClient client, string path, Registered agent, string paymentSignature) =>
        client.SendAsync(HttpMethod.Post, path, headers: new Dictionary<string, string> { ["X-AISA-Crawler-Token"] = agent.CrawlerToken, ["PAYMENT-SIGNATURE"] = paymentSignature });

    /// <summary>A publisher charging 0.02 for /article/*, and its site with the paywall in front of those routes.</summary>
    internal static async Task<(string Domain, string Session, WebApplication Site, Uri SiteUrl)> PublisherSiteAsync(AisaClient client)
    {
        var (domain, session) = await client.RegisterPublisherAsync();
        await client.CreateRuleAsync(session, new NewRule("/article/", "pay", 0.02m));
        var (site, siteUrl) = await LocalSite.StartAsync(
            services => services.AddAisaPaywall(new PaywallOptions { GatewayUrl = client.Http.BaseAddress!, PublisherDomain = domain }),
            app => app.MapGet("/article/{id}", (string id) => Results.Text($"the text of article {id}")).RequireCrawlerPayment());
        return (domain, session, site, siteUrl);
    }

    [Fact]
    public async Task The_official_client_tops_up_once_and_the_chain_shows_the_transfer_and_a_replay_is_refused()
    {
        var client = await StartServiceAsync(_facilitator.Url);
        var agent = await client.RegisterAgentAsync();

        var unpaid = await client.SendAsync(HttpMethod.Post, "/api/agent/topup/x402?amount=1.25", headers: new Dictionary<string, string> { ["X-AISA-Crawler-Token"] = agent.CrawlerToken });
        var bySession = await client.SendAsync(HttpMethod.Post, "/api/agent/topup/x402?amount=1.25", headers: AisaClient.Bearer(agent.SessionToken));
        var anonymous = await client.SendAsync(HttpMethod.Post, "/api/agent/topup/x402?amount=1.25");
        var noAmount = await client.SendAsync(HttpMethod.Post, "/api/agent/topup/x402", headers: AisaClient.Bearer(agent.SessionToken));
        Assert.Equal(402, unpaid.Code);
        Assert.Equal(unpaid.Header("PAYMENT-REQUIRED"), bySession.Header("PAYMENT-REQUIRED"));
        Assert.Equal((401, "unauthorized"), (anonymous.Code, anonymous.Error));
        Assert.Equal((400, "invalid_amount"), (noAmount.Code, noAmount.Error));
        var instructions = await client.PostAsync("/api/agent/topup/create-session", new { amount = 1.25m, rail = "x402" }, AisaClient.Bearer(agent.SessionToken));
        Assert.True(instructions.Code == 200, instructions.Raw);
        Assert.EndsWith("/api/agent/topup/x402?amount=1.25", instructions.Body.GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.Equal(Treasury, instructions.Body.GetProperty("payTo").GetString());
        var required = JsonNode.Parse(Convert.FromBase64String(unpaid.Header("PAYMENT-REQUIRED")!))!;
        Assert.Equal("1250000", required["accepts"]![0]!["amount"]!.GetValue<string>());
        Assert.Equal(Treasury, required["accepts"]![0]!["payTo"]!.GetValue<string>());

        var paid = await PayAsync(client, "/api/agent/topup/x402?amount=1.25", agent);

        Assert.True(paid["status"]!.GetValue<int>() == 200, paid.ToJsonString());
        var settlement = paid["paymentResponse"]!;
        Assert.True(settlement["success"]!.GetValue<bool>());
        var transaction = settlement["transaction"]!.GetValue<string>();
        Assert.Equal("0x1", (await _node.ReceiptAsync(transaction))["status"]!.GetValue<string>());
        Assert.Equal(new BigInteger(1_250_000), await _node.BalanceOfAsync(_usdc, Treasury));
        Assert.Equal(1.25m, await client.BalanceAsync(agent.SessionToken));
        var deposit = Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken));
        Assert.True(deposit.Is("credited"));
        Assert.Equal(transaction.ToLowerInvariant(), deposit.GetProperty("txHash").GetString());

        // The same signed authorization again, as is and twice at once: refused, nothing more credited or moved.
        var signature = paid["paymentSignature"]!.GetValue<string>();
        var replays = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => ReplayAsync(client, "/api/agent/topup/x402?amount=1.25", agent, signature)));
        Assert.All(replays, r => Assert.Equal((402, "invalid_exact_evm_nonce_already_used"), (r.Code, r.Error)));
        Assert.Equal(1.25m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(new BigInteger(1_250_000), await _node.BalanceOfAsync(_usdc, Treasury));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
    }

    [Fact]
    public async Task The_wallet_page_gives_the_x402_top_up_as_the_endpoint_a_client_pays_not_a_page_to_open_and_the_payment_shows_in_the_wallet()
    {
        var client = await StartServiceAsync(_facilitator.Url);
        var (browser, crawlerToken, _) = await Web.WalletPages.SignUpAsync(client.Http.BaseAddress!);
        using var _ = browser;

        var (status, page) = await Web.WalletPages.TopUpAsync(browser, "x402", "1.25");
        Assert.True(status == HttpStatusCode.OK, page);
        var endpoint = Web.WalletPages.PayValue(page, "endpoint");
        Assert.EndsWith("/api/agent/topup/x402?amount=1.25", endpoint, StringComparison.Ordinal);
        Assert.DoesNotContain("open-payment", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", page, StringComparison.Ordinal);
        Assert.Contains(WebUtility.HtmlEncode($"\"network\":\"eip155:{EvmWatch.ChainId}\""), page, StringComparison.Ordinal);
        Assert.Contains(WebUtility.HtmlEncode(Treasury), page, StringComparison.Ordinal);

        // The crawler's own client (the official x402 one) pays the endpoint the page gave, with the token the page showed.
        var paid = await X402Facilitator.PayAsync(new Uri(endpoint), "POST", EvmWatch.ChainId, $"X-AISA-Crawler-Token:{crawlerToken}");
        Assert.True(paid["status"]!.GetValue<int>() == 200, paid.ToJsonString());
        Assert.Equal("1.250000", await Web.WalletPages.BalanceAsync(browser));
        Assert.Equal(new BigInteger(1_250_000), await _node.BalanceOfAsync(_usdc, Treasury));
    }

    [Fact]
    public async Task A_crawler_without_an_account_pays_one_request_to_a_guarded_route_with_x402()
    {
        var client = await StartServiceAsync(_facilitator.Url);
        var (domain, session, site, siteUrl) = await PublisherSiteAsync(client);
        await using var _ = site;

        using var http = new HttpClient();
        using var unpaid = await http.GetAsync(new Uri(siteUrl, "/article/7"));
        Assert.Equal(HttpStatusCode.PaymentRequired, unpaid.StatusCode);
        Assert.Equal("x402", unpaid.Headers.GetValues("Crawler-Price-Rail").Single());
        Assert.Equal("USD 0.02", unpaid.Headers.GetValues("Crawler-Price").Single());
        Assert.Contains("rel=\"payment\"", unpaid.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
        var required = JsonNode.Parse(Convert.FromBase64String(unpaid.Headers.GetValues("PAYMENT-REQUIRED").Single()))!;
        Assert.Equal("20000", required["accepts"]![0]!["amount"]!.GetValue<string>());

        var paid = await X402Facilitator.PayAsync(new Uri(siteUrl, "/article/7"), "GET", EvmWatch.ChainId);

        Assert.True(paid["status"]!.GetValue<int>() == 200, paid.ToJsonString());
        Assert.Equal("the text of article 7", paid["body"]!.GetValue<string>());
        Assert.True(paid["paymentResponse"]!["success"]!.GetValue<bool>());
        Assert.Equal(new BigInteger(20_000), await _node.BalanceOfAsync(_usdc, Treasury));
        var earnings = await client.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(session));
        Assert.Equal(0.02m, earnings.Body.GetProperty("earnings").GetProperty("grossCharges").GetDecimal());
        Assert.Equal(0.018m, earnings.Body.GetProperty("earnings").GetProperty("balance").GetDecimal());

        // The same payment for a second request is refused: one payment, one request.
        await AssertReplayRefusedAsync(new Uri(siteUrl, "/article/7"), paid);
        var audit = await client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    /// <summary>The payment the official client sent, sent again to <paramref name="url"/>: refused, as one payment pays one request.</summary>
    internal static async Task AssertReplayRefusedAsync(Uri url, JsonObject paid)
    {
        using var http = new HttpClient();
        using var replay = new HttpRequestMessage(HttpMethod.Get, url);
        replay.Headers.Add("PAYMENT-SIGNATURE", paid["paymentSignature"]!.GetValue<string>());
        using var refused = await http.SendAsync(replay);
        Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        Assert.Contains("invalid_exact_evm_nonce_already_used", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_crawler_with_an_empty_wallet_is_offered_every_way_to_pay_and_pays_the_request_itself_with_x402_once()
    {
        var client = await StartServiceAsync(_facilitator.Url);
        var agent = await client.RegisterAgentAsync();
        var (domain, session, site, siteUrl) = await PublisherSiteAsync(client);
        await using var _ = site;

        var unpaid = await client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/8", crawlerAutoPrice = true }, agent.CrawlerToken);

        Assert.Equal("insufficient_balance", unpaid.Error);
        // An existing client reads the wallet's offer, as before.
        Assert.Equal("aisa-wallet", unpaid.Body.GetProperty("offer").GetProperty("rail").GetString());
        var offers = unpaid.Body.GetProperty("offers").EnumerateArray().ToList();
        Assert.Equal([("aisa-wallet", "wallet"), ("x402", "top-up"), ("x402", "per-request")],
            offers.Select(o => (o.GetProperty("rail").GetString(), o.GetProperty("kind").GetString())));
        Assert.EndsWith("/api/agent/topup/x402?amount=0.5", offers[1].GetProperty("paymentUrl").GetString(), StringComparison.Ordinal);
        Assert.Equal($"https://{domain}/article/8", offers[2].GetProperty("paymentUrl").GetString());
        Assert.Equal($"eip155:{EvmWatch.ChainId}", offers[2].GetProperty("network").GetString());
        var links = unpaid.Header("Link")!.Split(", ");
        Assert.Equal(["aisa-wallet", "x402", "x402"], links.Select(l => l[(l.IndexOf("type=\"", StringComparison.Ordinal) + 6)..^1]));
        Assert.All(links.Zip(offers), pair => Assert.StartsWith($"<{pair.Second.GetProperty("paymentUrl").GetString()}>; rel=\"payment\"", pair.First, StringComparison.Ordinal));
        var required = JsonNode.Parse(Convert.FromBase64String(unpaid.Header("PAYMENT-REQUIRED")!))!;
        Assert.Equal("20000", required["accepts"]![0]!["amount"]!.GetValue<string>());
        // A version 1 client reads the requirements from the body, at its top level.
        Assert.Equal(1, unpaid.Body.GetProperty("x402Version").GetInt32());
        Assert.Equal("20000", unpaid.Body.GetProperty("accepts")[0].GetProperty("maxAmountRequired").GetString());

        // The official x402 client, sending the crawler's token as well, meets the wallet's 402 at the site and pays the request itself.
        var paid = await X402Facilitator.PayAsync(new Uri(siteUrl, "/article/8"), "GET", EvmWatch.ChainId, $"X-AISA-Crawler-Token:{agent.CrawlerToken}");

        Assert.True(paid["status"]!.GetValue<int>() == 200, paid.ToJsonString());
        Assert.Equal("the text of article 8", paid["body"]!.GetValue<string>());
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(new BigInteger(20_000), await _node.BalanceOfAsync(_usdc, Treasury));
        var earnings = await client.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(session));
        Assert.Equal(0.02m, earnings.Body.GetProperty("earnings").GetProperty("grossCharges").GetDecimal());
        var replay = await client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/8", crawlerAutoPrice = true }, agent.CrawlerToken,
            new Dictionary<string, string> { ["PAYMENT-SIGNATURE"] = paid["paymentSignature"]!.GetValue<string>() });
        Assert.Equal((402, "invalid_exact_evm_nonce_already_used"), (replay.Code, replay.Error));
        Assert.Equal(0.02m, (await client.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(session))).Body
            .GetProperty("earnings").GetProperty("grossCharges").GetDecimal());
        var audit = await client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    [Fact]
    public async Task A_payment_for_another_amount_is_refused_with_the_protocol_error_and_credits_nothing()
    {
        var client = await StartServiceAsync(_facilitator.Url);
        var agent = await client.RegisterAgentAsync();
        var forOne = await PayAsync(client, "/api/agent/topup/x402?amount=1.00", agent);
        Assert.Equal(200, forOne["status"]!.GetValue<int>());

        // Without a known agent there is nothing to pay: no wallet is ever topped up for an unknown caller.
        var anonymous = await X402Facilitator.PayAsync(new Uri(client.Http.BaseAddress!, "/api/agent/topup/x402?amount=0.50"), "POST", EvmWatch.ChainId, "X-AISA-Crawler-Token:aisa_crawler_unknown");
        Assert.Equal(401, anonymous["status"]!.GetValue<int>());
        Assert.Null(anonymous["paymentSignature"]);

        // An authorization signed for 1.00 offered where 2.00 is asked.
        var other = await client.RegisterAgentAsync();
        var refused = await ReplayAsync(client, "/api/agent/topup/x402?amount=2.00", other, forOne["paymentSignature"]!.GetValue<string>());

        Assert.Equal((402, "invalid_payment_requirements"), (refused.Code, refused.Error));
        Assert.Equal(0m, await client.BalanceAsync(other.SessionToken));
        Assert.Equal(new BigInteger(1_000_000), await _node.BalanceOfAsync(_usdc, Treasury));
    }

    [Theory]
    [InlineData("payTo", "invalid_payment_requirements")]
    [InlineData("network", "invalid_payment_requirements")]
    [InlineData("validBefore", "invalid_exact_evm_payload_authorization_valid_before")]
    [InlineData("signature", "invalid_exact_evm_signature")]
    public async Task A_payment_signed_wrong_is_refused_with_the_protocol_error_and_credits_nothing(string wrong, string error)
    {
        var client = await StartServiceAsync(_facilitator.Url);
        var agent = await client.RegisterAgentAsync();
        const string path = "/api/agent/topup/x402?amount=1.00";
        var unpaid = await client.SendAsync(HttpMethod.Post, path, headers: new Dictionary<string, string> { ["X-AISA-Crawler-Token"] = agent.CrawlerToken });
        var required = JsonNode.Parse(Convert.FromBase64String(unpaid.Header("PAYMENT-REQUIRED")!))!;
        var accepts = required["accepts"]![0]!;
        var network = $"eip155:{EvmWatch.ChainId}";
        switch (wrong)
        {
            case "payTo":
                accepts["payTo"] = "0x3333333333333333333333333333333333333333";
                break;
            case "network":
                network = "eip155:8453";
                accepts["network"] = network;
                break;
            case "validBefore":
                // The client signs validBefore = now + maxTimeoutSeconds: 1 s is already too late for settlement.
                accepts["maxTimeoutSeconds"] = 1;
                break;
        }
        var signature = await X402Facilitator.SignAsync(required, network);
        if (wrong == "signature")
        {
            var payload = JsonNode.Parse(Convert.FromBase64String(signature))!;
            var bytes = payload["payload"]!["signature"]!.GetValue<string>().ToCharArray();
            bytes[10] = bytes[10] == 'a' ? 'b' : 'a';
            payload["payload"]!["signature"] = new string(bytes);
            signature = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(payload.ToJsonString()));
        }

        var refused = await ReplayAsync(client, path, agent, signature);

        Assert.Equal(402, refused.Code);
        Assert.True(refused.Error == error, refused.Raw);
        var again = JsonNode.Parse(Convert.FromBase64String(refused.Header("PAYMENT-REQUIRED")!))!;
        Assert.Equal(error, again["error"]!.GetValue<string>());
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
        Assert.Empty(await EvmWatch.DepositsAsync(client, agent.SessionToken));
        Assert.Equal(BigInteger.Zero, await _node.BalanceOfAsync(_usdc, Treasury));
    }

    [Fact]
    public async Task Facilitator_down_or_answering_garbage_gives_502_and_the_same_payment_succeeds_once_after_recovery()
    {
        using var proxy = new RpcFaultProxy(_facilitator.Url);
        var client = await StartServiceAsync(proxy.Url);
        var agent = await client.RegisterAgentAsync();
        const string path = "/api/agent/topup/x402?amount=3.00";

        proxy.Fault = RpcFault.Down;
        var down = await PayAsync(client, path, agent);
        Assert.Equal(502, down["status"]!.GetValue<int>());
        Assert.Contains("facilitator_unavailable", down["body"]!.GetValue<string>(), StringComparison.Ordinal);
        var signature = down["paymentSignature"]?.GetValue<string>() ?? throw new Xunit.Sdk.XunitException(down.ToJsonString());

        proxy.Fault = RpcFault.MalformedJson;
        var garbage = await ReplayAsync(client, path, agent, signature);
        Assert.Equal((502, "facilitator_unavailable"), (garbage.Code, garbage.Error));
        proxy.Fault = RpcFault.Http500;
        Assert.Equal(502, (await ReplayAsync(client, path, agent, signature)).Code);
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(BigInteger.Zero, await _node.BalanceOfAsync(_usdc, Treasury));

        proxy.Fault = RpcFault.None;
        var recovered = await ReplayAsync(client, path, agent, signature);
        Assert.True(recovered.Code == 200, recovered.Raw);
        Assert.NotNull(recovered.Header("PAYMENT-RESPONSE"));
        var again = await ReplayAsync(client, path, agent, signature);
        Assert.Equal(402, again.Code);
        Assert.Equal(3m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(new BigInteger(3_000_000), await _node.BalanceOfAsync(_usdc, Treasury));
    }

    [Fact]
    public async Task A_settlement_whose_answer_was_lost_is_found_on_chain_and_credited_once()
    {
        using var proxy = new RpcFaultProxy(_facilitator.Url) { FaultPath = "/settle" };
        var client = await StartServiceAsync(proxy.Url, facilitatorTimeoutSeconds: 3);
        var agent = await client.RegisterAgentAsync();
        const string path = "/api/agent/topup/x402?amount=4.00";

        proxy.Fault = RpcFault.LoseAnswer;
        var lost = await PayAsync(client, path, agent);

        Assert.Equal(502, lost["status"]!.GetValue<int>());
        Assert.Contains("settlement_unknown", lost["body"]!.GetValue<string>(), StringComparison.Ordinal);
        // The facilitator did settle: the money is in the treasury, the wallet not yet credited.
        Assert.Equal(new BigInteger(4_000_000), await _node.BalanceOfAsync(_usdc, Treasury));
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
        proxy.Fault = RpcFault.None;
        var replay = await ReplayAsync(client, path, agent, lost["paymentSignature"]!.GetValue<string>());
        Assert.Equal((402, "invalid_exact_evm_nonce_already_used"), (replay.Code, replay.Error));

        var credited = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "credited by the reconciler");
        var creditedBy = await WaitForReconcileAsync(client, summary => summary.GetProperty("credited").GetInt32() == 1, "the pass that credited it");
        // Two more passes credit nothing more.
        await WaitForReconcileAsync(client, summary => summary.GetProperty("credited").GetInt32() == 0, "a later pass", after: creditedBy);
        await WaitForReconcileAsync(client, summary => summary.GetProperty("credited").GetInt32() == 0, "a second later pass",
            after: await WaitForReconcileAsync(client, _ => true, "any later pass", after: creditedBy));

        Assert.Equal(4m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
        var history = await client.SendAsync(HttpMethod.Get, $"/api/operator/deposits/{credited.GetProperty("id").GetInt64()}", headers: AisaClient.Operator());
        Assert.True(history.Body.GetProperty("transitions")[0].GetProperty("evidence").GetProperty("reconciled").GetBoolean());
    }

    [Theory]
    [InlineData("itself")]
    [InlineData("the treasury")]
    public async Task A_front_run_of_the_nonce_for_one_unit_credits_nothing_when_the_settlement_then_fails(string frontRunTo)
    {
        // /settle never reaches the facilitator: the claim stays for the reconciler, the authorization unused on chain.
        using var proxy = new RpcFaultProxy(_facilitator.Url) { FaultPath = "/settle", Fault = RpcFault.Http500 };
        var client = await StartServiceAsync(proxy.Url, facilitatorTimeoutSeconds: 3);
        var agent = await client.RegisterAgentAsync();
        var failed = await PayAsync(client, "/api/agent/topup/x402?amount=5.00", agent);
        Assert.Equal(502, failed["status"]!.GetValue<int>());
        Assert.Contains("settlement_unknown", failed["body"]!.GetValue<string>(), StringComparison.Ordinal);
        var authorization = JsonNode.Parse(Convert.FromBase64String(failed["paymentSignature"]!.GetValue<string>()))!["payload"]!["authorization"]!;

        // The payer uses the same nonce first, for 1 unit, with a second authorization of its own.
        var to = frontRunTo == "itself" ? Ganache.Payer : Treasury;
        await X402Facilitator.AuthorizeOnChainAsync(_node, _usdc, to, "1", authorization["nonce"]!.GetValue<string>(),
            long.Parse(authorization["validBefore"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        // Resolved either way (closed as mismatched, or — wrongly — credited): the balance says which.
        var closedBy = await WaitForReconcileAsync(client, summary => (summary.TryGetProperty("mismatched", out var closed) && closed.GetInt32() >= 1)
            || summary.GetProperty("credited").GetInt32() >= 1, "the claim resolved");
        await WaitForReconcileAsync(client, summary => summary.GetProperty("credited").GetInt32() == 0, "a later pass", after: closedBy);

        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
        Assert.Empty(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
        var held = await client.SendAsync(HttpMethod.Get, "/api/operator/deposits?rail=x402&state=unattributed", headers: AisaClient.Operator());
        if (frontRunTo == "itself")
        {
            Assert.Equal(BigInteger.Zero, await _node.BalanceOfAsync(_usdc, Treasury));
            Assert.Empty(held.Body.GetProperty("deposits").EnumerateArray());
        }
        else
        {
            // The unit that did reach the treasury is held for an operator, never credited to the claimant.
            Assert.Equal(BigInteger.One, await _node.BalanceOfAsync(_usdc, Treasury));
            var deposit = Assert.Single(held.Body.GetProperty("deposits").EnumerateArray()).GetProperty("deposit");
            Assert.Equal(0.000001m, deposit.GetProperty("amount").GetDecimal());
        }
        var audit = await client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    [Theory]
    [InlineData("payTo", "invalid_exact_evm_recipient_mismatch")]
    [InlineData("amount", "invalid_exact_evm_payload_authorization_value_mismatch")]
    public async Task A_version_2_payment_whose_signed_authorization_differs_from_its_echo_is_refused_before_the_facilitator_is_asked(string signedFor, string error)
    {
        using var proxy = new RpcFaultProxy(_facilitator.Url);
        var client = await StartServiceAsync(proxy.Url);
        var agent = await client.RegisterAgentAsync();
        const string path = "/api/agent/topup/x402?amount=1.00";
        var unpaid = await client.SendAsync(HttpMethod.Post, path, headers: new Dictionary<string, string> { ["X-AISA-Crawler-Token"] = agent.CrawlerToken });
        var required = JsonNode.Parse(Convert.FromBase64String(unpaid.Header("PAYMENT-REQUIRED")!))!;
        var asked = required["accepts"]![0]!.DeepClone();
        // Signed for other terms, then the echo of the requirements put back as we asked them.
        if (signedFor == "payTo")
        {
            required["accepts"]![0]!["payTo"] = "0x3333333333333333333333333333333333333333";
        }
        else
        {
            required["accepts"]![0]!["amount"] = "10000";
        }
        var payload = JsonNode.Parse(Convert.FromBase64String(await X402Facilitator.SignAsync(required, $"eip155:{EvmWatch.ChainId}")))!;
        payload["accepted"] = asked;
        var forged = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(payload.ToJsonString()));
        var asksBefore = proxy.Paths.Count(p => p.EndsWith("/verify", StringComparison.Ordinal) || p.EndsWith("/settle", StringComparison.Ordinal));

        var refused = await ReplayAsync(client, path, agent, forged);

        Assert.Equal((402, error), (refused.Code, refused.Error));
        Assert.Equal(asksBefore, proxy.Paths.Count(p => p.EndsWith("/verify", StringComparison.Ordinal) || p.EndsWith("/settle", StringComparison.Ordinal)));
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(BigInteger.Zero, await _node.BalanceOfAsync(_usdc, Treasury));
    }

    [Fact]
    public async Task A_settlement_the_facilitator_names_by_another_transaction_is_not_credited_from_it_and_the_real_one_credits_once()
    {
        // Another payment of the same amount to the treasury, not made by this authorization.
        var decoy = await _node.TransferAsync(_usdc, Treasury, 2_000_000);
        using var proxy = new RpcFaultProxy(_facilitator.Url) { FaultPath = "/settle", Fault = RpcFault.Rewrite };
        proxy.Rewrite = answer =>
        {
            var settled = JsonNode.Parse(answer)!;
            settled["transaction"] = decoy;
            return settled.ToJsonString();
        };
        var client = await StartServiceAsync(proxy.Url, facilitatorTimeoutSeconds: 3);
        var agent = await client.RegisterAgentAsync();

        var paid = await PayAsync(client, "/api/agent/topup/x402?amount=2.00", agent);

        Assert.Equal(502, paid["status"]!.GetValue<int>());
        Assert.Contains("settlement_unknown", paid["body"]!.GetValue<string>(), StringComparison.Ordinal);
        var credited = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "credited by the reconciler from the real settlement");
        var creditedBy = await WaitForReconcileAsync(client, summary => summary.GetProperty("credited").GetInt32() == 1, "the pass that credited it");
        await WaitForReconcileAsync(client, summary => summary.GetProperty("waiting").GetInt32() == 0, "a later pass with nothing left", after: creditedBy);
        Assert.NotEqual(decoy, credited.GetProperty("txHash").GetString());
        Assert.Equal(2m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
        Assert.Equal(new BigInteger(4_000_000), await _node.BalanceOfAsync(_usdc, Treasury));
    }

    /// <summary>Waits for a reconcile:x402 run after <paramref name="after"/> whose summary says so; returns its id.</summary>
    private static async Task<long> WaitForReconcileAsync(AisaClient client, Func<System.Text.Json.JsonElement, bool> done, string what, long after = 0)
    {
        var deadline = DateTime.UtcNow + EvmWatch.Patience;
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            var reply = await client.SendAsync(HttpMethod.Get, "/api/operator/jobs?job=reconcile:x402&limit=50", headers: AisaClient.Operator());
            last = reply.Raw;
            // A run still going has no summary yet.
            var run = reply.Body.GetProperty("runs").EnumerateArray().Reverse().FirstOrDefault(r => r.GetProperty("id").GetInt64() > after
                && r.TryGetProperty("summary", out var summary) && summary.ValueKind == System.Text.Json.JsonValueKind.Object && done(summary));
            if (run.ValueKind == System.Text.Json.JsonValueKind.Object)
            {
                return run.GetProperty("id").GetInt64();
            }
            await Task.Delay(200);
        }
        throw new Xunit.Sdk.XunitException($"No reconcile run {what} within {EvmWatch.Patience.TotalSeconds} s: {last}");
    }

    [Fact]
    public async Task A_facilitator_that_does_not_settle_our_network_is_not_asked_to_and_nothing_is_claimed()
    {
        // The service takes payments on Polygon; the facilitator (its /supported says so) settles only the local chain.
        var client = await StartServiceAsync(_facilitator.Url, chainId: 137);
        var agent = await client.RegisterAgentAsync();
        const string path = "/api/agent/topup/x402?amount=1.00";
        var unpaid = await client.SendAsync(HttpMethod.Post, path, headers: new Dictionary<string, string> { ["X-AISA-Crawler-Token"] = agent.CrawlerToken });
        Assert.Contains("BNB Smart Chain", unpaid.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        var signature = await X402Facilitator.SignAsync(JsonNode.Parse(Convert.FromBase64String(unpaid.Header("PAYMENT-REQUIRED")!))!, "eip155:137");

        var refused = await ReplayAsync(client, path, agent, signature);

        Assert.Equal((502, "facilitator_unsupported"), (refused.Code, refused.Error));
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task A_version_1_payment_from_the_402_body_tops_up_once_with_X_PAYMENT()
    {
        var client = await StartServiceAsync(_facilitator.Url);
        var agent = await client.RegisterAgentAsync();
        const string path = "/api/agent/topup/x402?amount=0.75";
        var unpaid = await client.SendAsync(HttpMethod.Post, path, headers: new Dictionary<string, string> { ["X-AISA-Crawler-Token"] = agent.CrawlerToken });
        // What a version 1 client reads: the body, with the network by name.
        var body = JsonNode.Parse(unpaid.Raw)!.AsObject();
        Assert.Equal(1, body["x402Version"]!.GetValue<int>());
        Assert.Equal("base-sepolia", body["accepts"]![0]!["network"]!.GetValue<string>());
        Assert.Equal("750000", body["accepts"]![0]!["maxAmountRequired"]!.GetValue<string>());
        var payment = await X402Facilitator.SignAsync(new JsonObject { ["x402Version"] = 1, ["error"] = "", ["accepts"] = body["accepts"]!.DeepClone() }, $"eip155:{EvmWatch.ChainId}");
        Assert.Equal(1, JsonNode.Parse(Convert.FromBase64String(payment))!["x402Version"]!.GetValue<int>());

        var paid = await client.SendAsync(HttpMethod.Post, path, headers: new Dictionary<string, string> { ["X-AISA-Crawler-Token"] = agent.CrawlerToken, ["X-PAYMENT"] = payment });
        var again = await client.SendAsync(HttpMethod.Post, path, headers: new Dictionary<string, string> { ["X-AISA-Crawler-Token"] = agent.CrawlerToken, ["X-PAYMENT"] = payment });

        Assert.True(paid.Code == 200, paid.Raw);
        var settlement = JsonNode.Parse(Convert.FromBase64String(paid.Header("X-PAYMENT-RESPONSE")!))!;
        Assert.True(settlement["success"]!.GetValue<bool>());
        Assert.Equal((402, "invalid_exact_evm_nonce_already_used"), (again.Code, again.Error));
        Assert.Equal(0.75m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(new BigInteger(750_000), await _node.BalanceOfAsync(_usdc, Treasury));
    }

    [Fact]
    public async Task Confirmed_by_the_watcher_a_settled_top_up_is_credited_at_the_chains_depth_and_not_before()
    {
        var watched = EvmWatch.Settings(_node.Url, _usdc);
        watched["Rails:X402:Confirm"] = "watcher";
        var client = await StartServiceAsync(_facilitator.Url, more: watched);
        var agent = await client.RegisterAgentAsync();

        var paid = await PayAsync(client, "/api/agent/topup/x402?amount=2.50", agent);

        Assert.True(paid["status"]!.GetValue<int>() == 200, paid.ToJsonString());
        var answer = JsonNode.Parse(paid["body"]!.GetValue<string>())!;
        Assert.Equal("detected", answer["state"]!.GetValue<string>());
        Assert.Equal(EvmWatch.Confirmations, answer["confirmationsRequired"]!.GetValue<int>());
        Assert.Equal("0.000000", answer["balance"]!.GetValue<string>());
        var confirming = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("confirming", 2) || d.Is("detected", 1), "followed by the watcher");
        Assert.Equal("base", confirming.GetProperty("rail").GetString());
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));

        await _node.MineAsync(EvmWatch.Confirmations - 1);
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited", EvmWatch.Confirmations), "credited at the depth");
        await _node.MineAsync(2);
        await EvmWatch.WaitForRunsAsync(client, await EvmWatch.LastRunIdAsync(client), runs => runs.Length >= 2, "two more passes");

        Assert.Equal(2.5m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
        Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken));
    }

    [Fact]
    public async Task A_settled_top_up_whose_booking_failed_is_booked_by_the_reconciler_once()
    {
        // Confirmed by the watcher, the top-up reads the settlement's receipt through Rails:X402:RpcUrls: with that
        // node unreachable the booking fails after the facilitator settled.
        using var rpc = new RpcFaultProxy(_node.Url);
        var settings = EvmWatch.Settings(_node.Url, _usdc);
        settings["Rails:X402:Confirm"] = "watcher";
        settings["Rails:X402:RpcUrls:0"] = rpc.Url.ToString();
        var client = await StartServiceAsync(_facilitator.Url, facilitatorTimeoutSeconds: 3, more: settings);
        var agent = await client.RegisterAgentAsync();

        rpc.Fault = RpcFault.Down;
        var failed = await PayAsync(client, "/api/agent/topup/x402?amount=1.50", agent);
        Assert.Equal(500, failed["status"]!.GetValue<int>());
        Assert.Equal(new BigInteger(1_500_000), await _node.BalanceOfAsync(_usdc, Treasury));
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));

        rpc.Fault = RpcFault.None;
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("detected") || d.Is("confirming"), "booked by the reconciler");
        await _node.MineAsync(EvmWatch.Confirmations);
        await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "credited at depth");
        // Later passes of the reconciler and the watcher book nothing more.
        await WaitForReconcileAsync(client, summary => summary.GetProperty("credited").GetInt32() == 0,
            "a later reconcile pass", after: await WaitForReconcileAsync(client, summary => summary.GetProperty("credited").GetInt32() == 1, "the pass that booked it"));
        await EvmWatch.WaitForRunsAsync(client, await EvmWatch.LastRunIdAsync(client), runs => runs.Length >= 2, "two more watcher passes");

        Assert.Equal(1.5m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
        var replay = await ReplayAsync(client, "/api/agent/topup/x402?amount=1.50", agent, failed["paymentSignature"]!.GetValue<string>());
        Assert.Equal((402, "invalid_exact_evm_nonce_already_used"), (replay.Code, replay.Error));
    }
}
