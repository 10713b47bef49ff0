using System.Net;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>
/// Card top-ups against a local fake of Stripe's API built from its documented shapes (no real Stripe here), with
/// every webhook signed by the official stripe npm package.
/// </summary>
public sealed class StripeTopUpTests : IAsyncLifetime
{
    private const string WebhookSecret = "whsec_test_secret_for_integration_tests";
    private FakeStripe _stripe = null!;
    private readonly List<IAsyncDisposable> _owned = [];

    public async Task InitializeAsync() => _stripe = await FakeStripe.StartAsync();

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
            await _stripe.DisposeAsync();
        }
    }

    private async Task<AisaClient> StartServiceAsync(int pollSeconds, IReadOnlyDictionary<string, string>? more = null)
    {
        var store = await TestStore.CreateAsync(StorageOptions.Postgres);
        _owned.Add(store);
        var factory = new SettlementFactory(store, new Dictionary<string, string>
        {
            ["Rails:Stripe:SecretKey"] = FakeStripe.SecretKey,
            ["Rails:Stripe:WebhookSecrets:0"] = "whsec_rolled_out_secret",
            ["Rails:Stripe:WebhookSecrets:1"] = WebhookSecret,
            ["Rails:Stripe:ApiBaseUrl"] = _stripe.Url.ToString(),
            ["Rails:Stripe:SuccessUrl"] = "https://agent.example/done?session_id={CHECKOUT_SESSION_ID}",
            ["Rails:Stripe:CancelUrl"] = "https://agent.example/cancel",
            ["Rails:Stripe:PollIntervalSeconds"] = pollSeconds.ToString(CultureInfo.InvariantCulture),
            ["Scheduling:LeaseSeconds"] = (2 * pollSeconds + 1).ToString(CultureInfo.InvariantCulture),
        }.Concat(more ?? new Dictionary<string, string>()).ToDictionary());
        _owned.Add(factory);
        return new AisaClient(factory.CreateClient());
    }

    private static Task<string> SignAsync(string payload, string secret, DateTimeOffset? at = null) => FakeStripe.SignAsync(payload, secret, at);

    private static async Task<Reply> DeliverAsync(AisaClient client, string payload, string? signature)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks/stripe") { Content = new StringContent(payload, new UTF8Encoding(false)) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation("Stripe-Signature", signature);
        }
        using var response = await client.Http.SendAsync(request);
        var raw = await response.Content.ReadAsStringAsync();
        return new Reply(response.StatusCode, System.Text.Json.JsonDocument.Parse(raw.Length == 0 ? "{}" : raw).RootElement.Clone(), response.Headers, raw);
    }

    private static async Task<string> CreateSessionAsync(AisaClient client, Registered agent, decimal amount)
    {
        var reply = await client.PostAsync("/api/agent/topup/create-session", new { amount }, AisaClient.Bearer(agent.SessionToken));
        Assert.True(reply.Code == 200, reply.Raw);
        Assert.StartsWith("https://checkout.stripe.com/", reply.Body.GetProperty("url").GetString(), StringComparison.Ordinal);
        return reply.Body.GetProperty("sessionId").GetString()!;
    }

    [Fact]
    public async Task An_empty_wallets_402_offers_the_card_top_up_that_once_followed_and_paid_lets_the_same_verify_charge_once()
    {
        var client = await StartServiceAsync(pollSeconds: 600);
        var agent = await client.RegisterAgentAsync();
        var (domain, session) = await client.RegisterPublisherAsync();
        await client.CreateRuleAsync(session, new NewRule("/", "pay", 0.75m));
        var verify = new { publisherDomain = domain, resourceUrl = "/report", crawlerAutoPrice = true };
        var retry = new Dictionary<string, string> { ["Idempotency-Key"] = "report-1" };

        var unpaid = await client.VerifyAsync(verify, agent.CrawlerToken);

        Assert.Equal("insufficient_balance", unpaid.Error);
        var offers = unpaid.Body.GetProperty("offers").EnumerateArray().ToList();
        Assert.Equal([("aisa-wallet", "wallet"), ("stripe", "top-up")], offers.Select(o => (o.GetProperty("rail").GetString(), o.GetProperty("kind").GetString())));
        Assert.Equal(["aisa-wallet", "stripe"], unpaid.Header("Link")!.Split(", ").Select(l => l[(l.IndexOf("type=\"", StringComparison.Ordinal) + 6)..^1]));
        var card = offers[1];
        Assert.Equal("POST", card.GetProperty("method").GetString());
        // The top-up the offer asks for covers the shortfall, at least the platform's minimum.
        Assert.Equal(0.75m, card.GetProperty("body").GetProperty("amount").GetDecimal());

        var topUp = await client.SendAsync(HttpMethod.Post, new Uri(card.GetProperty("paymentUrl").GetString()!).PathAndQuery, card.GetProperty("body").GetRawText(),
            AisaClient.Bearer(agent.SessionToken));
        Assert.True(topUp.Code == 200, topUp.Raw);
        var sessionId = topUp.Body.GetProperty("sessionId").GetString()!;
        _stripe.Pay(sessionId);
        await DeliverSignedAsync(client, _stripe.Event("checkout.session.completed", sessionId));
        var charged = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => client.VerifyAsync(verify, agent.CrawlerToken, retry)));

        Assert.All(charged, c => Assert.Equal(HttpStatusCode.OK, c.Status));
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
        var earnings = await client.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(session));
        Assert.Equal(0.75m, earnings.Body.GetProperty("earnings").GetProperty("grossCharges").GetDecimal());
    }

    [Fact]
    public async Task The_wallet_page_opens_the_checkout_stripe_made_and_the_paid_session_shows_credited_in_the_wallet()
    {
        var client = await StartServiceAsync(pollSeconds: 600);
        var (browser, _, _) = await Web.WalletPages.SignUpAsync(client.Http.BaseAddress!);
        using var _ = browser;

        var (status, page) = await Web.WalletPages.TopUpAsync(browser, "stripe", "12.50");
        Assert.True(status == HttpStatusCode.OK, page);
        var checkout = Web.WalletPages.PayValue(page, "url");
        var sessionId = checkout[(checkout.LastIndexOf('/') + 1)..];
        // The button opens the very page Stripe made for this session (the fake's record of it), and nothing else is offered to pay.
        var made = System.Text.Json.Nodes.JsonNode.Parse(_stripe.Event("checkout.session.completed", sessionId))!["data"]!["object"]!;
        Assert.Equal(checkout, made["url"]!.GetValue<string>());
        Assert.StartsWith("https://checkout.stripe.com/", checkout, StringComparison.Ordinal);
        Assert.Contains($"id=\"open-payment\" href=\"{System.Net.WebUtility.HtmlEncode(checkout)}\"", page, StringComparison.Ordinal);
        Assert.Equal(1, _stripe.Creates);
        Assert.Equal("0.000000", await Web.WalletPages.BalanceAsync(browser));

        _stripe.Pay(sessionId);
        await DeliverSignedAsync(client, _stripe.Event("checkout.session.completed", sessionId));

        var wallet = await browser.GetStringAsync(new Uri("/agent/", UriKind.Relative));
        Assert.Equal("12.500000", await Web.WalletPages.BalanceAsync(browser));
        Assert.Matches("(?s)<tr data-deposit=\"\\d+\">.*?<td>stripe</td>.*?<td class=\"state\">credited</td>", wallet);
    }

    [Fact]
    public async Task A_paid_session_delivered_five_times_and_five_at_once_credits_the_wallet_once()
    {
        var client = await StartServiceAsync(pollSeconds: 600);
        var agent = await client.RegisterAgentAsync();
        var sessionId = await CreateSessionAsync(client, agent, 12.50m);
        Assert.Equal([Adapters.Stripe.StripeOptions.ApiVersion], _stripe.VersionsSeen.Distinct());
        var pending = Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken));
        Assert.True(pending.Is("pending"));
        Assert.Equal(sessionId, pending.GetProperty("reference").GetString());

        _stripe.Pay(sessionId);
        var payload = _stripe.Event("checkout.session.completed", sessionId);
        var signature = await SignAsync(payload, WebhookSecret);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(200, (await DeliverAsync(client, payload, signature)).Code);
        }
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => DeliverAsync(client, payload, signature)));
        Assert.All(concurrent, r => Assert.Equal(200, r.Code));
        // The same payment told by the other event type changes nothing either.
        var async = _stripe.Event("checkout.session.async_payment_succeeded", sessionId);
        Assert.Equal(200, (await DeliverAsync(client, async, await SignAsync(async, WebhookSecret))).Code);

        Assert.Equal(12.5m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
        var credited = Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken));
        Assert.True(credited.Is("credited"));
        Assert.Equal(1, _stripe.Creates);
        var audit = await client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    [Fact]
    public async Task Deliveries_with_a_wrong_secret_a_changed_body_an_old_timestamp_or_no_header_get_400_and_credit_nothing()
    {
        var client = await StartServiceAsync(pollSeconds: 600);
        var agent = await client.RegisterAgentAsync();
        var sessionId = await CreateSessionAsync(client, agent, 5m);
        _stripe.Pay(sessionId);
        var payload = _stripe.Event("checkout.session.completed", sessionId);

        var wrongSecret = await DeliverAsync(client, payload, await SignAsync(payload, "whsec_not_ours"));
        var tampered = await DeliverAsync(client, payload.Replace("\"amount_total\":500", "\"amount_total\":50000", StringComparison.Ordinal), await SignAsync(payload, WebhookSecret));
        var old = await DeliverAsync(client, payload, await SignAsync(payload, WebhookSecret, DateTimeOffset.UtcNow.AddMinutes(-6)));
        var missing = await DeliverAsync(client, payload, null);
        // An event written at another API version than the library's: the endpoint was made at the wrong version.
        var otherVersion = payload.Replace(FakeStripe.ApiVersion, "2024-06-20", StringComparison.Ordinal);
        var wrongVersion = await DeliverAsync(client, otherVersion, await SignAsync(otherVersion, WebhookSecret));

        Assert.All([wrongSecret, tampered, old, missing], r => Assert.Equal((400, "invalid_signature"), (r.Code, r.Error)));
        Assert.Equal((400, "unsupported_api_version"), (wrongVersion.Code, wrongVersion.Error));
        Assert.Contains("API version", wrongVersion.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("tolerance", old.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("missing", missing.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));
        Assert.True(Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken)).Is("pending"));

        // A delivery signed with the secret being rolled out still verifies.
        Assert.Equal(200, (await DeliverAsync(client, payload, await SignAsync(payload, "whsec_rolled_out_secret"))).Code);
        Assert.Equal(5m, await client.BalanceAsync(agent.SessionToken));
    }

    [Fact]
    public async Task A_webhook_that_never_comes_is_made_up_for_by_the_watcher()
    {
        var client = await StartServiceAsync(pollSeconds: 1);
        var agent = await client.RegisterAgentAsync();
        var sessionId = await CreateSessionAsync(client, agent, 7.25m);

        _stripe.Pay(sessionId);
        var credited = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "credited by the watcher");

        Assert.Equal(7.25m, credited.GetProperty("amount").GetDecimal());
        Assert.Equal(7.25m, await client.BalanceAsync(agent.SessionToken));
        // The webhook arriving late credits nothing more.
        var payload = _stripe.Event("checkout.session.completed", sessionId);
        Assert.Equal(200, (await DeliverAsync(client, payload, await SignAsync(payload, WebhookSecret))).Code);
        Assert.Equal(7.25m, await client.BalanceAsync(agent.SessionToken));
        Assert.Single(await EvmWatch.DepositEntriesAsync(client, agent.SessionToken));
    }

    [Fact]
    public async Task A_session_Stripe_cannot_read_is_noted_on_its_deposit_and_the_watcher_credits_the_others()
    {
        var client = await StartServiceAsync(pollSeconds: 1);
        var agent = await client.RegisterAgentAsync();
        var broken = await CreateSessionAsync(client, agent, 1m);
        var paid = await CreateSessionAsync(client, agent, 2m);
        _stripe.Unreadable[broken] = true;

        _stripe.Pay(paid);
        var credited = await EvmWatch.WaitForDepositAsync(client, agent.SessionToken, d => d.Is("credited"), "the readable session credited");

        Assert.Equal(2m, credited.GetProperty("amount").GetDecimal());
        Assert.Equal(2m, await client.BalanceAsync(agent.SessionToken));
        var stuck = (await EvmWatch.DepositsAsync(client, agent.SessionToken)).Single(d => d.GetProperty("reference").GetString() == broken);
        Assert.True(stuck.Is("pending"));
        var history = await client.SendAsync(HttpMethod.Get, $"/api/operator/deposits/{stuck.GetProperty("id").GetInt64()}", headers: AisaClient.Operator());
        Assert.Contains(history.Body.GetProperty("transitions").EnumerateArray(), t => t.GetProperty("evidence").TryGetProperty("unread", out var why) && why.GetString()!.Contains("500", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_top_up_asked_twice_with_one_Idempotency_Key_is_one_session_and_one_deposit()
    {
        var client = await StartServiceAsync(pollSeconds: 600);
        var agent = await client.RegisterAgentAsync();
        var headers = new Dictionary<string, string>(AisaClient.Bearer(agent.SessionToken)) { ["Idempotency-Key"] = "topup-1" };
        var createsBefore = _stripe.Creates;

        var first = await client.PostAsync("/api/agent/topup/create-session", new { amount = 5m }, headers);
        var retry = await client.PostAsync("/api/agent/topup/create-session", new { amount = 5m }, headers);
        var other = await client.PostAsync("/api/agent/topup/create-session", new { amount = 6m }, headers);

        Assert.Equal(200, first.Code);
        Assert.Equal(first.Raw, retry.Raw);
        Assert.Equal((422, "idempotency_key_reused"), (other.Code, other.Error));
        Assert.Equal(createsBefore + 1, _stripe.Creates);
        Assert.Single(await EvmWatch.DepositsAsync(client, agent.SessionToken));
    }

    [Fact]
    public async Task Starting_top_ups_is_rate_limited_per_caller_with_Retry_After()
    {
        var client = await StartServiceAsync(pollSeconds: 600, new Dictionary<string, string> { ["RateLimits:TopUpsPerMinute"] = "2" });
        var agent = await client.RegisterAgentAsync();
        var other = await client.RegisterAgentAsync();

        var replies = new List<Reply>();
        for (var i = 0; i < 3; i++)
        {
            replies.Add(await client.PostAsync("/api/agent/topup/create-session", new { amount = 1m }, AisaClient.Bearer(agent.SessionToken)));
        }
        var others = await client.PostAsync("/api/agent/topup/create-session", new { amount = 1m }, AisaClient.Bearer(other.SessionToken));

        Assert.Equal([200, 200, 429], replies.Select(r => r.Code));
        Assert.Equal("rate_limited", replies[2].Error);
        Assert.True(int.Parse(replies[2].Header("Retry-After")!, CultureInfo.InvariantCulture) > 0);
        Assert.Equal(200, others.Code);
        Assert.Equal(2, (await EvmWatch.DepositsAsync(client, agent.SessionToken)).Length);
    }

    [Fact]
    public async Task A_webhook_body_over_the_limit_is_refused_without_being_read_to_its_end()
    {
        var client = await StartServiceAsync(pollSeconds: 600);
        // 2 MB of a chunked body with no length announced, and then nothing: the body never ends. Only a service that stops
        // reading at the limit can answer at all; one that reads the whole body first waits for ever.
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(client.Http.BaseAddress!.Host, client.Http.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /api/webhooks/stripe HTTP/1.1\r\nHost: {client.Http.BaseAddress.Authority}\r\nContent-Type: application/json\r\nStripe-Signature: t=1,v1=00\r\nTransfer-Encoding: chunked\r\n\r\n"));
        var chunk = Encoding.ASCII.GetBytes($"{64 * 1024:x}\r\n{new string(' ', 64 * 1024)}\r\n");
        for (var sent = 0; sent < 2 << 20; sent += 64 * 1024)
        {
            await stream.WriteAsync(chunk);
        }

        var answer = await new StreamReader(stream, Encoding.ASCII).ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.StartsWith("HTTP/1.1 400", answer);
    }

    /// <summary>A Checkout top-up paid and its completion webhook delivered: the wallet credited.</summary>
    private async Task<string> PaidTopUpAsync(AisaClient client, Registered agent, decimal amount)
    {
        var before = await client.BalanceAsync(agent.SessionToken);
        var sessionId = await CreateSessionAsync(client, agent, amount);
        _stripe.Pay(sessionId);
        await DeliverSignedAsync(client, _stripe.Event("checkout.session.completed", sessionId));
        Assert.Equal(before + amount, await client.BalanceAsync(agent.SessionToken));
        return sessionId;
    }

    private async Task DeliverSignedAsync(AisaClient client, string payload, int times = 1, bool atOnce = false)
    {
        var signature = await SignAsync(payload, WebhookSecret);
        var replies = atOnce
            ? await Task.WhenAll(Enumerable.Range(0, times).Select(_ => DeliverAsync(client, payload, signature)))
            : [.. await SequentialAsync()];
        Assert.All(replies, r => Assert.True(r.Code == 200, r.Raw));

        async Task<List<Reply>> SequentialAsync()
        {
            var list = new List<Reply>();
            for (var i = 0; i < times; i++)
            {
                list.Add(await DeliverAsync(client, payload, signature));
            }
            return list;
        }
    }

    private static async Task<Dictionary<string, int>> EntryKindsAsync(AisaClient client, Registered agent)
    {
        var reply = await client.SendAsync(HttpMethod.Get, "/api/agent/transactions?limit=100", headers: AisaClient.Bearer(agent.SessionToken));
        Assert.Equal(200, reply.Code);
        return reply.Body.GetProperty("transactions").EnumerateArray().GroupBy(t => t.GetProperty("type").GetString()!).ToDictionary(g => g.Key, g => g.Count());
    }

    [Fact]
    public async Task Refunds_and_disputes_move_the_wallet_once_each_a_chargeback_freezes_a_spent_wallet_until_topped_up_and_a_won_dispute_gives_it_back()
    {
        var client = await StartServiceAsync(pollSeconds: 600);
        var agent = await client.RegisterAgentAsync();
        var (domain, publisherSession) = await client.RegisterPublisherAsync();
        await client.CreateRuleAsync(publisherSession, new NewRule("/", "pay", 1m));
        var page = 0;
        Task<Reply> CrawlAsync() => client.VerifyAsync(new { publisherDomain = domain, resourceUrl = $"/page/{++page}", crawlerAutoPrice = true }, agent.CrawlerToken);
        async Task AssertAuditAsync(int frozenWallets)
        {
            var audit = await client.AuditAsync();
            Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
            Assert.Equal(frozenWallets, audit.GetProperty("frozenWallets").GetInt32());
        }

        var first = await PaidTopUpAsync(client, agent, 10m);
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(200, (await CrawlAsync()).Code);
        }
        Assert.Equal(2m, await client.BalanceAsync(agent.SessionToken));

        // A partial refund, told twice by charge.refunded and once more by the refund's own update: booked once.
        var refund = _stripe.Refund(first, 100);
        await DeliverSignedAsync(client, _stripe.ChargeEvent("charge.refunded", _stripe.ChargeOf(first)), times: 2);
        await DeliverSignedAsync(client, _stripe.RefundEvent("charge.refund.updated", refund));
        Assert.Equal(1m, await client.BalanceAsync(agent.SessionToken));
        await AssertAuditAsync(frozenWallets: 0);

        // The payer's bank disputes the rest, told three times at once: one chargeback, and the spent wallet goes below zero.
        var dispute = _stripe.Dispute(first, 900);
        await DeliverSignedAsync(client, _stripe.DisputeEvent("charge.dispute.created", dispute), times: 3, atOnce: true);
        Assert.Equal(-8m, await client.BalanceAsync(agent.SessionToken));
        await AssertAuditAsync(frozenWallets: 1);
        var frozen = await CrawlAsync();
        Assert.Equal((402, "insufficient_balance"), (frozen.Code, frozen.Error));
        Assert.Contains("frozen", frozen.Body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(9m, frozen.Body.GetProperty("crawler").GetProperty("shortfall").GetDecimal());

        // A top-up that leaves it below the price keeps it frozen; the next one brings it back.
        await PaidTopUpAsync(client, agent, 5m);
        Assert.Equal(402, (await CrawlAsync()).Code);
        var last = await PaidTopUpAsync(client, agent, 5m);
        Assert.Equal(200, (await CrawlAsync()).Code);
        Assert.Equal(1m, await client.BalanceAsync(agent.SessionToken));
        await AssertAuditAsync(frozenWallets: 0);

        // The dispute is won, its closing told twice: the funds come back once.
        _stripe.SetDisputeStatus(dispute, "won");
        await DeliverSignedAsync(client, _stripe.DisputeEvent("charge.dispute.closed", dispute), times: 2);
        Assert.Equal(10m, await client.BalanceAsync(agent.SessionToken));

        // An inquiry withdraws nothing; a refund that fails after it was booked gives its money back.
        await DeliverSignedAsync(client, _stripe.DisputeEvent("charge.dispute.created", _stripe.Dispute(last, 500, "warning_needs_response")));
        Assert.Equal(10m, await client.BalanceAsync(agent.SessionToken));
        var failing = _stripe.Refund(last, 200, "pending");
        await DeliverSignedAsync(client, _stripe.ChargeEvent("charge.refunded", _stripe.ChargeOf(last)));
        Assert.Equal(8m, await client.BalanceAsync(agent.SessionToken));
        _stripe.SetRefundStatus(failing, "failed");
        await DeliverSignedAsync(client, _stripe.RefundEvent("charge.refund.updated", failing));
        Assert.Equal(10m, await client.BalanceAsync(agent.SessionToken));

        var kinds = await EntryKindsAsync(client, agent);
        Assert.Equal((3, 2, 1, 2, 9), (kinds["deposit"], kinds["refund"], kinds["chargeback"], kinds["reinstatement"], kinds["charge"]));
        await AssertAuditAsync(frozenWallets: 0);
    }

    [Fact]
    public async Task Dispute_news_in_any_order_nets_out_and_take_backs_of_payments_that_credited_nothing_here_book_nothing()
    {
        var client = await StartServiceAsync(pollSeconds: 600);
        var agent = await client.RegisterAgentAsync();
        var sessionId = await PaidTopUpAsync(client, agent, 4m);

        // "closed: won" arrives before "created": withdrawn and reinstated, never a net debit.
        var dispute = _stripe.Dispute(sessionId, 400);
        var created = _stripe.DisputeEvent("charge.dispute.created", dispute);
        _stripe.SetDisputeStatus(dispute, "won");
        await DeliverSignedAsync(client, _stripe.DisputeEvent("charge.dispute.closed", dispute));
        await DeliverSignedAsync(client, created);
        Assert.Equal(4m, await client.BalanceAsync(agent.SessionToken));
        var kinds = await EntryKindsAsync(client, agent);
        Assert.Equal((1, 1), (kinds["chargeback"], kinds["reinstatement"]));

        // A paid session whose completion webhook was lost: its refund credits it first, then takes the refund back.
        var unheard = await CreateSessionAsync(client, agent, 3m);
        _stripe.Pay(unheard);
        _stripe.Refund(unheard, 300);
        await DeliverSignedAsync(client, _stripe.ChargeEvent("charge.refunded", _stripe.ChargeOf(unheard)));
        Assert.Equal(4m, await client.BalanceAsync(agent.SessionToken));
        Assert.True((await EvmWatch.DepositsAsync(client, agent.SessionToken)).All(d => d.Is("credited")));

        // Stripe failing while a refund is applied: not acknowledged (503), so Stripe delivers it again; then booked once.
        _stripe.Refund(sessionId, 150);
        var refunded = _stripe.ChargeEvent("charge.refunded", _stripe.ChargeOf(sessionId));
        _stripe.Failing = true;
        var unavailable = await DeliverAsync(client, refunded, await SignAsync(refunded, WebhookSecret));
        Assert.Equal((503, "stripe_unavailable"), (unavailable.Code, unavailable.Error));
        Assert.Equal(4m, await client.BalanceAsync(agent.SessionToken));
        _stripe.Failing = false;
        await DeliverSignedAsync(client, refunded, times: 2);
        Assert.Equal(2.5m, await client.BalanceAsync(agent.SessionToken));

        // A charge that no top-up of ours made (another product on the same Stripe account): acknowledged, nothing booked.
        var foreign = System.Text.Json.Nodes.JsonNode.Parse(_stripe.ChargeEvent("charge.refunded", _stripe.ChargeOf(sessionId)))!;
        foreign["data"]!["object"]!["id"] = "ch_test_not_ours";
        foreign["data"]!["object"]!["payment_intent"] = "pi_test_not_ours";
        var transfers = (await client.AuditAsync()).GetProperty("transfers").GetInt64();
        await DeliverSignedAsync(client, foreign.ToJsonString());
        Assert.Equal(2.5m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(transfers, (await client.AuditAsync()).GetProperty("transfers").GetInt64());
        var audit = await client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }
}
