using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>
/// x402 on two networks at once (<c>Rails:X402:Networks</c>): two ganache chains of different chain ids, each with an
/// EIP-3009 test USDC compiled by solc-js, one official facilitator (@x402/core + @x402/evm) settling on both, and the
/// official client (@x402/fetch), which pays only the network it registers, choosing it from the 402's <c>accepts</c>.
/// </summary>
public sealed class X402NetworksTests : IAsyncLifetime
{
    internal const long SecondChainId = 80002;
    private const string FirstTreasury = "0x1111111111111111111111111111111111111111";
    private const string SecondTreasury = "0x2222222222222222222222222222222222222222";
    private Ganache _first = null!;
    private Ganache _second = null!;
    private string _firstUsdc = null!;
    private string _secondUsdc = null!;
    private X402Facilitator _facilitator = null!;
    private TestStore _store = null!;
    private SettlementFactory _factory = null!;
    private AisaClient _client = null!;

    internal static string Network(long chainId) => $"eip155:{chainId.ToString(CultureInfo.InvariantCulture)}";

    public async Task InitializeAsync()
    {
        _first = await Ganache.StartAsync(EvmWatch.ChainId);
        _second = await _first.OrStopAsync(_ => Ganache.StartAsync(SecondChainId));
        _facilitator = await _second.OrStopAsync(_ => X402Facilitator.StartAsync([_first, _second]));
        _store = await TestStore.CreateAsync(StorageOptions.Postgres);
        var settings = new Dictionary<string, string>
        {
            ["Rails:X402:FacilitatorUrl"] = _facilitator.Url.ToString(),
            ["Rails:X402:ReconcileIntervalSeconds"] = "1",
            ["Scheduling:LeaseSeconds"] = "3",
        };
        _firstUsdc = await AddNetworkAsync(settings, 0, _first, FirstTreasury);
        _secondUsdc = await AddNetworkAsync(settings, 1, _second, SecondTreasury);
        _factory = new SettlementFactory(_store, settings);
        _client = new AisaClient(_factory.CreateClient());
    }

    /// <summary>Deploys a test USDC on <paramref name="node"/> and lists its chain as x402 network <paramref name="index"/>, paid to <paramref name="treasury"/>; returns the token.</summary>
    internal static async Task<string> AddNetworkAsync(IDictionary<string, string> settings, int index, Ganache node, string treasury)
    {
        var usdc = await node.OrStopAsync(n => n.DeployUsdcAsync());
        var at = $"Rails:X402:Networks:{index}";
        settings[$"{at}:Network"] = Network(node.ChainId);
        settings[$"{at}:PayTo"] = treasury;
        settings[$"{at}:Asset"] = usdc;
        settings[$"{at}:RpcUrls:0"] = node.Url.ToString();
        return usdc;
    }

    public async Task DisposeAsync()
    {
        try
        {
            _client?.Http.Dispose();
            if (_factory is not null)
            {
                await _factory.DisposeAsync();
            }
            if (_store is not null)
            {
                await _store.DisposeAsync();
            }
        }
        finally
        {
            await (_facilitator?.DisposeAsync() ?? ValueTask.CompletedTask);
            await (_second?.DisposeAsync() ?? ValueTask.CompletedTask);
            await (_first?.DisposeAsync() ?? ValueTask.CompletedTask);
        }
    }

    [Fact]
    public async Task One_402_accepts_both_networks_and_a_client_on_either_pays_its_request_once_to_that_networks_treasury()
    {
        var (domain, session, site, siteUrl) = await X402TopUpTests.PublisherSiteAsync(_client);
        await using var _ = site;

        var unpaid = await _client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/1", crawlerAutoPrice = true }, null);

        Assert.Equal((402, "payment_required"), (unpaid.Code, unpaid.Error));
        var accepts = JsonNode.Parse(Convert.FromBase64String(unpaid.Header("PAYMENT-REQUIRED")!))!["accepts"]!.AsArray();
        Assert.Equal([Network(EvmWatch.ChainId), Network(SecondChainId)], accepts.Select(a => a!["network"]!.GetValue<string>()));
        Assert.Equal([FirstTreasury, SecondTreasury], accepts.Select(a => a!["payTo"]!.GetValue<string>()));
        Assert.All(accepts, a => Assert.Equal("20000", a!["amount"]!.GetValue<string>()));
        // One per-request offer for each network, the preferred first; the single offer is the first's.
        var perRequest = unpaid.Body.GetProperty("offers").EnumerateArray().Where(o => o.GetProperty("kind").GetString() == "per-request").ToList();
        Assert.Equal([Network(EvmWatch.ChainId), Network(SecondChainId)], perRequest.Select(o => o.GetProperty("network").GetString()));
        Assert.Equal("x402", unpaid.Body.GetProperty("offer").GetProperty("rail").GetString());
        // Version 1 clients read the networks that have a version 1 name (84532 is base-sepolia, 80002 polygon-amoy).
        Assert.Equal(["base-sepolia", "polygon-amoy"], unpaid.Body.GetProperty("accepts").EnumerateArray().Select(a => a.GetProperty("network").GetString()));

        // A client holding USDC on the second network only pays there; then one on the first pays another article there.
        var onSecond = await X402Facilitator.PayAsync(new Uri(siteUrl, "/article/1"), "GET", SecondChainId);
        Assert.True(onSecond["status"]!.GetValue<int>() == 200, onSecond.ToJsonString());
        Assert.Equal("the text of article 1", onSecond["body"]!.GetValue<string>());
        Assert.Equal(Network(SecondChainId), onSecond["paymentResponse"]!["network"]!.GetValue<string>());
        Assert.Equal(new BigInteger(20_000), await _second.BalanceOfAsync(_secondUsdc, SecondTreasury));
        Assert.Equal(BigInteger.Zero, await _first.BalanceOfAsync(_firstUsdc, FirstTreasury));

        var onFirst = await X402Facilitator.PayAsync(new Uri(siteUrl, "/article/2"), "GET", EvmWatch.ChainId);
        Assert.True(onFirst["status"]!.GetValue<int>() == 200, onFirst.ToJsonString());
        Assert.Equal(new BigInteger(20_000), await _first.BalanceOfAsync(_firstUsdc, FirstTreasury));
        Assert.Equal(new BigInteger(20_000), await _second.BalanceOfAsync(_secondUsdc, SecondTreasury));

        var earnings = await _client.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(session));
        Assert.Equal(0.04m, earnings.Body.GetProperty("earnings").GetProperty("grossCharges").GetDecimal());

        // Each payment pays its request once: sent again, refused.
        await X402TopUpTests.AssertReplayRefusedAsync(new Uri(siteUrl, "/article/1"), onSecond);
        var audit = await _client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    [Fact]
    public async Task The_typed_clients_x402_payer_signs_with_its_key_and_pays_its_request_once_on_its_network()
    {
        var (_, session, site, siteUrl) = await X402TopUpTests.PublisherSiteAsync(_client);
        await using var _ = site;
        using var http = new HttpClient();
        var payer = new Aisa.Settlement.Client.X402Payer(Ganache.PayerKey, Network(SecondChainId));
        Assert.Equal(Ganache.Payer, payer.Address, ignoreCase: true);

        using var paid = await payer.GetAsync(http, new Uri(siteUrl, "/article/9"));

        Assert.Equal(System.Net.HttpStatusCode.OK, paid.StatusCode);
        Assert.Equal("the text of article 9", await paid.Content.ReadAsStringAsync());
        Assert.Equal(new BigInteger(20_000), await _second.BalanceOfAsync(_secondUsdc, SecondTreasury));
        Assert.Equal(BigInteger.Zero, await _first.BalanceOfAsync(_firstUsdc, FirstTreasury));
        var earnings = await _client.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(session));
        Assert.Equal(0.02m, earnings.Body.GetProperty("earnings").GetProperty("grossCharges").GetDecimal());

        // A payer on a network the 402 does not accept pays nothing: the 402 comes back as it was.
        using var elsewhere = await new Aisa.Settlement.Client.X402Payer(Ganache.PayerKey, "eip155:1").GetAsync(http, new Uri(siteUrl, "/article/10"));
        Assert.Equal(System.Net.HttpStatusCode.PaymentRequired, elsewhere.StatusCode);
        Assert.Equal(new BigInteger(20_000), await _second.BalanceOfAsync(_secondUsdc, SecondTreasury));
    }

    [Fact]
    public async Task A_top_up_on_the_second_network_credits_the_wallet_once_and_the_instructions_name_both()
    {
        var agent = await _client.RegisterAgentAsync();
        var session = await _client.PostAsync("/api/agent/topup/create-session", new { amount = 1.00m, rail = "x402" }, AisaClient.Bearer(agent.SessionToken));
        Assert.True(session.Code == 200, session.Raw);
        Assert.Equal(Network(EvmWatch.ChainId), session.Body.GetProperty("network").GetString());
        Assert.Equal([(Network(EvmWatch.ChainId), FirstTreasury), (Network(SecondChainId), SecondTreasury)],
            session.Body.GetProperty("networks").EnumerateArray().Select(n => (n.GetProperty("network").GetString(), n.GetProperty("payTo").GetString())));

        var paid = await X402Facilitator.PayAsync(new Uri(_client.Http.BaseAddress!, "/api/agent/topup/x402?amount=1.00"), "POST", SecondChainId,
            $"X-AISA-Crawler-Token:{agent.CrawlerToken}");

        Assert.True(paid["status"]!.GetValue<int>() is 200 or 201, paid.ToJsonString());
        Assert.Equal(1.00m, await _client.BalanceAsync(agent.SessionToken));
        Assert.Equal(new BigInteger(1_000_000), await _second.BalanceOfAsync(_secondUsdc, SecondTreasury));
        var deposits = await _client.SendAsync(HttpMethod.Get, "/api/agent/deposits", headers: AisaClient.Bearer(agent.SessionToken));
        var deposit = deposits.Body.GetProperty("deposits").EnumerateArray().Single();
        Assert.StartsWith($"{Network(SecondChainId)}:0x", deposit.GetProperty("reference").GetString(), StringComparison.Ordinal);
    }
}
