using System.Text.Json;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Payouts;

/// <summary>
/// Publisher payouts by Lightning against a FAKE BTCPay Server and a FAKE LND (no Lightning node runs here; the fake answers
/// their documented shapes, its invoices signed by the bolt11 package), paying a Lightning address that the fake's LNURL-pay
/// server resolves: paid once, a failed payment reversed, and a payment whose answer was lost found paid, never paid again.
/// </summary>
public sealed class LightningFakePayoutTests : IAsyncLifetime
{
    private LightningFake _fake = null!;
    private TestStore? _store;
    private SettlementFactory? _factory;

    public async Task InitializeAsync() => _fake = await LightningFake.StartAsync();

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
        await _fake.DisposeAsync();
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    private async Task<AisaClient> StartAsync(string backend, string provider = StorageOptions.Sqlite)
    {
        _store = await TestStore.CreateAsync(provider);
        var settings = _fake.Settings(backend);
        settings["Rails:Lightning:Payouts:MaxFeePercent"] = "1";
        if (backend == "lnd")
        {
            settings["Rails:Lightning:Payouts:MacaroonHex"] = LightningFake.PayoutMacaroonHex;
        }
        settings["Payouts:Schedule"] = "0 0 1 1 *";
        settings["Payouts:PollIntervalSeconds"] = "1";
        _factory = new SettlementFactory(_store, settings);
        return new AisaClient(_factory.CreateClient());
    }

    private static Task<JsonElement> WaitForPayoutAsync(AisaClient client, string session, string state) =>
        PayoutFlow.WaitForPayoutAsync(client, session, state, () => Task.CompletedTask);

    /// <summary>The payout's dollars in msat at the fake's rate (100,000 USD/BTC: a dollar is 100,000,000 msat / 100,000 = 1,000 sat).</summary>
    private static long Msat(decimal usd) => (long)(usd * 100_000_000_000m / LightningFake.BtcUsd);

    [Theory]
    [InlineData("btcpay", StorageOptions.Sqlite)]
    [InlineData("btcpay", StorageOptions.Postgres)]
    [InlineData("lnd", StorageOptions.Sqlite)]
    public async Task A_publishers_lightning_address_is_paid_once_the_invoice_it_answered_for_the_exact_amount(string backend, string provider)
    {
        var client = await StartAsync(backend, provider);
        var name = $"writer-{backend}";
        var (session, earned, _) = await PayoutFlow.EarningPublisherAsync(client, charges: 3, "lightning", _fake.Address(name).ToUpperInvariant());

        var settings = await client.SendAsync(HttpMethod.Get, "/api/publisher/payout-settings", headers: AisaClient.Bearer(session));
        Assert.Equal(_fake.Address(name), settings.Body.GetProperty("payoutSettings").GetProperty("destination").GetString());
        await PayoutFlow.RunAsync(client);
        var payout = await WaitForPayoutAsync(client, session, "confirmed");

        Assert.Equal((1, 1, Msat(earned)), await _fake.ReceivedAsync(name));
        var evidence = payout.GetProperty("evidence");
        Assert.Equal(Msat(earned), evidence.GetProperty("msat").GetInt64());
        Assert.Equal(backend, evidence.GetProperty("backend").GetString());
        Assert.Equal(payout.GetProperty("reference").GetString(), evidence.GetProperty("paymentHash").GetString());
        Assert.False(string.IsNullOrEmpty(evidence.GetProperty("preimage").GetString()));
        Assert.Equal(earned, (await PayoutFlow.EarningsAsync(client, session)).GetProperty("paid").GetDecimal());
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());
    }

    [Theory]
    [InlineData("btcpay")]
    [InlineData("lnd")]
    public async Task A_payment_the_node_gives_up_fails_the_payout_and_its_money_goes_back_to_the_payable(string backend)
    {
        var client = await StartAsync(backend);
        var (session, earned, _) = await PayoutFlow.EarningPublisherAsync(client, charges: 2, "lightning", _fake.Address("unlucky"));
        await _fake.PayOutcomeAsync("fail");

        await PayoutFlow.RunAsync(client);
        var payout = await WaitForPayoutAsync(client, session, "reversed");

        Assert.Equal((1, 0, 0L), await _fake.ReceivedAsync("unlucky"));
        Assert.Equal(backend, payout.GetProperty("evidence").GetProperty("backend").GetString());
        var earnings = await PayoutFlow.EarningsAsync(client, session);
        Assert.Equal(earned, earnings.GetProperty("available").GetDecimal());
        Assert.Equal(0m, earnings.GetProperty("inFlight").GetDecimal());
        Assert.Equal(0m, earnings.GetProperty("paid").GetDecimal());
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());
    }

    [Theory]
    [InlineData("btcpay")]
    [InlineData("lnd")]
    public async Task A_payment_whose_answer_was_lost_is_found_paid_and_never_paid_again(string backend)
    {
        var client = await StartAsync(backend);
        var (session, earned, _) = await PayoutFlow.EarningPublisherAsync(client, charges: 2, "lightning", _fake.Address("patient"));
        await _fake.FaultAsync("lose-pay-answer");

        await PayoutFlow.RunAsync(client);
        await PayoutFlow.WaitUntilAsync(async () => (await _fake.ReceivedAsync("patient")).Attempts == 1, "the node paid the invoice");
        await _fake.FaultAsync("none");
        await WaitForPayoutAsync(client, session, "confirmed");

        Assert.Equal((1, 1, Msat(earned)), await _fake.ReceivedAsync("patient"));
        Assert.Equal(earned, (await PayoutFlow.EarningsAsync(client, session)).GetProperty("paid").GetDecimal());
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());
    }

    [Fact]
    public async Task A_destination_that_is_no_lightning_address_or_does_not_resolve_is_refused_with_a_clear_400()
    {
        var client = await StartAsync("btcpay");
        var (_, session) = await client.RegisterPublisherAsync();

        foreach (var destination in new[] { "lnbc1500u1pn", "not an address", _fake.Address("nobody-here") })
        {
            var reply = await client.SendAsync(HttpMethod.Put, "/api/publisher/payout-settings",
                JsonSerializer.Serialize(new { rail = "lightning", destination, minimumAmount = 1m }), AisaClient.Bearer(session));
            Assert.Equal(400, reply.Code);
            Assert.Equal("invalid_destination", reply.Body.GetProperty("error").GetString());
        }
        Assert.Equal(404, (await client.SendAsync(HttpMethod.Get, "/api/publisher/payout-settings", headers: AisaClient.Bearer(session))).Code);
    }
}
