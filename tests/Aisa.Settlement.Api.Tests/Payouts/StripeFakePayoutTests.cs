using System.Net;
using System.Text.Json;
using Aisa.Settlement.Api.Tests.Notifications;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Payouts;

/// <summary>
/// Publisher payouts by Stripe Connect through Stripe.net against a FAKE Stripe (no real Stripe runs here; the fake answers
/// the documented Account and Transfer shapes at Stripe.net's API version): paid once in whole cents, a refused transfer
/// reversed, a transfer whose answer was lost found by its transfer group and never made twice, bad accounts refused.
/// </summary>
public sealed class StripeFakePayoutTests : IAsyncLifetime
{
    private FakeStripe _stripe = null!;
    private TestStore? _store;
    private SettlementFactory? _factory;

    public async Task InitializeAsync()
    {
        _stripe = await FakeStripe.StartAsync();
        _stripe.ConnectedAccounts["acct_1WriterOnboarded"] = true;
        _stripe.ConnectedAccounts["acct_1WriterOnboarding"] = false;
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
        await _stripe.DisposeAsync();
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    private async Task<AisaClient> StartAsync(string provider = StorageOptions.Sqlite)
    {
        _store = await TestStore.CreateAsync(provider);
        _factory = new SettlementFactory(_store, new Dictionary<string, string>
        {
            ["Rails:Stripe:SecretKey"] = FakeStripe.SecretKey,
            ["Rails:Stripe:WebhookSecret"] = "whsec_test_secret_for_payout_tests",
            ["Rails:Stripe:ApiBaseUrl"] = _stripe.Url.ToString(),
            ["Rails:Stripe:SuccessUrl"] = "https://agent.example/done",
            ["Rails:Stripe:CancelUrl"] = "https://agent.example/cancel",
            ["Rails:Stripe:PollIntervalSeconds"] = "600",
            ["Rails:Stripe:PayoutsEnabled"] = "true",
            ["Payouts:Schedule"] = "0 0 1 1 *",
            ["Payouts:PollIntervalSeconds"] = "1",
            ["Notifications:AllowPrivateNetworks"] = "true",
        });
        return new AisaClient(_factory.CreateClient());
    }

    private static Task<JsonElement> WaitForPayoutAsync(AisaClient client, string session, string state) =>
        PayoutFlow.WaitForPayoutAsync(client, session, state, () => Task.CompletedTask);

    [Theory]
    [InlineData(StorageOptions.Sqlite)]
    [InlineData(StorageOptions.Postgres)]
    public async Task A_publishers_connected_account_gets_one_transfer_of_the_whole_cents_it_earned(string provider)
    {
        var client = await StartAsync(provider);
        // $1.555 a charge, 90 % to the publisher: 3 charges earn 4.1985; Stripe pays 4.19 and 0.0085 stays available.
        var agent = await client.RegisterAgentAsync();
        await client.FundAsync(agent.Id, 100m);
        var (domain, session) = await client.RegisterPublisherAsync();
        await client.CreateRuleAsync(session, new NewRule("/", "pay", 1.555m));
        for (var i = 0; i < 3; i++)
        {
            var reply = await client.VerifyAsync(new { publisherDomain = domain, resourceUrl = $"/article/{i}", crawlerMaxPrice = "USD 1.56" }, agent.CrawlerToken);
            Assert.True(reply.Status == HttpStatusCode.OK, reply.Raw);
        }
        var saved = await client.SendAsync(HttpMethod.Put, "/api/publisher/payout-settings",
            JsonSerializer.Serialize(new { rail = "stripe", destination = " acct_1WriterOnboarded ", minimumAmount = 1m }), AisaClient.Bearer(session));
        Assert.True(saved.Code == 200, saved.Raw);
        await using var hook = await WebhookReceiver.StartAsync();
        var set = await client.SendAsync(HttpMethod.Put, "/api/publisher/webhook", hook.Registration, AisaClient.Bearer(session));

        await PayoutFlow.RunAsync(client);
        var payout = await WaitForPayoutAsync(client, session, "confirmed");
        var notices = await hook.WaitForAsync(t => t.Count == 2, "payout.submitted and payout.confirmed");

        Assert.Equal((419L, 1), _stripe.TransferredTo("acct_1WriterOnboarded"));
        Assert.Equal(4.19m, payout.GetProperty("amount").GetDecimal());
        Assert.StartsWith("tr_", payout.GetProperty("reference").GetString(), StringComparison.Ordinal);
        Assert.Equal($"payout:{payout.GetProperty("id").GetInt64()}", payout.GetProperty("evidence").GetProperty("transferGroup").GetString());
        var earnings = await PayoutFlow.EarningsAsync(client, session);
        Assert.Equal(0.0085m, earnings.GetProperty("available").GetDecimal());
        Assert.Equal(4.19m, earnings.GetProperty("paid").GetDecimal());
        Assert.All(_stripe.VersionsSeen, v => Assert.Equal(FakeStripe.ApiVersion, v));
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());
        Assert.Equal(["payout.confirmed", "payout.submitted"], notices.Select(n => n.Event).Order());
        Assert.All(notices, n =>
        {
            Assert.True(WebhookReceiver.SignatureHolds(n, set.Body.GetProperty("secret").GetString()!), n.Signature);
            Assert.Equal(payout.GetProperty("id").GetInt64(), n.Data.GetProperty("payoutId").GetInt64());
            Assert.Equal(4.19m, n.Data.GetProperty("amount").GetDecimal());
        });
        Assert.Equal(payout.GetProperty("reference").GetString(), notices.Single(n => n.Event == "payout.confirmed").Data.GetProperty("reference").GetString());
    }

    [Fact]
    public async Task A_transfer_stripe_refuses_fails_the_payout_and_its_money_goes_back_to_the_payable()
    {
        var client = await StartAsync();
        var (session, earned, _) = await PayoutFlow.EarningPublisherAsync(client, charges: 2, "stripe", "acct_1WriterOnboarded");
        _stripe.PlatformBalanceCents = 100;
        await using var hook = await WebhookReceiver.StartAsync();
        await client.SendAsync(HttpMethod.Put, "/api/publisher/webhook", hook.Registration, AisaClient.Bearer(session));

        await PayoutFlow.RunAsync(client);
        var payout = await WaitForPayoutAsync(client, session, "reversed");
        // Sent to Stripe, which refused it: the publisher hears that it was sent, then that it failed.
        var notices = await hook.WaitForAsync(t => t.Count == 2, "payout.submitted and payout.failed");

        Assert.Equal((0L, 0), _stripe.TransferredTo("acct_1WriterOnboarded"));
        Assert.Contains("insufficient", payout.GetProperty("evidence").GetProperty("refused").GetString(), StringComparison.Ordinal);
        var earnings = await PayoutFlow.EarningsAsync(client, session);
        Assert.Equal(earned, earnings.GetProperty("available").GetDecimal());
        Assert.Equal(0m, earnings.GetProperty("inFlight").GetDecimal());
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());
        Assert.Equal(["payout.failed", "payout.submitted"], notices.Select(n => n.Event).Order());
        Assert.Equal("reversed", notices.Single(n => n.Event == "payout.failed").Data.GetProperty("state").GetString());
        var log = await client.SendAsync(HttpMethod.Get, "/api/publisher/webhook/deliveries", headers: AisaClient.Bearer(session));
        // Listed newest first: the failure was recorded after the send.
        Assert.Equal(["payout.failed", "payout.submitted"], log.Body.GetProperty("deliveries").EnumerateArray().Select(d => d.GetProperty("type").GetString()!));
    }

    [Fact]
    public async Task A_transfer_whose_answer_was_lost_is_found_by_its_transfer_group_and_never_made_twice()
    {
        var client = await StartAsync();
        var (session, earned, _) = await PayoutFlow.EarningPublisherAsync(client, charges: 2, "stripe", "acct_1WriterOnboarded");
        _stripe.LoseNextTransferAnswer = true;

        await PayoutFlow.RunAsync(client);
        var payout = await WaitForPayoutAsync(client, session, "confirmed");

        Assert.False(_stripe.LoseNextTransferAnswer);
        // Asked once: after the lost answer the pass found the transfer by its group and asked nothing more.
        Assert.Equal(1, _stripe.TransferRequests);
        Assert.Equal(((long)(earned * 100), 1), _stripe.TransferredTo("acct_1WriterOnboarded"));
        Assert.Equal(earned, (await PayoutFlow.EarningsAsync(client, session)).GetProperty("paid").GetDecimal());
        Assert.StartsWith("tr_", payout.GetProperty("reference").GetString(), StringComparison.Ordinal);
        Assert.True((await client.AuditAsync()).GetProperty("balanced").GetBoolean());
    }

    [Fact]
    public async Task An_account_that_is_not_one_or_cannot_receive_transfers_is_refused_with_a_clear_400()
    {
        var client = await StartAsync();
        var (_, session) = await client.RegisterPublisherAsync();

        foreach (var destination in new[] { "acct_1WriterOnboarding", "acct_1Unknown", "ba_1BankAccount", "acct_bad id" })
        {
            var reply = await client.SendAsync(HttpMethod.Put, "/api/publisher/payout-settings",
                JsonSerializer.Serialize(new { rail = "stripe", destination, minimumAmount = 1m }), AisaClient.Bearer(session));
            Assert.Equal(400, reply.Code);
            Assert.Equal("invalid_destination", reply.Body.GetProperty("error").GetString());
        }
        Assert.Equal(404, (await client.SendAsync(HttpMethod.Get, "/api/publisher/payout-settings", headers: AisaClient.Bearer(session))).Code);
    }
}
