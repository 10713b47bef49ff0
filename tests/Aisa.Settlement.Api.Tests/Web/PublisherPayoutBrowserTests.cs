using System.Net;
using System.Text.RegularExpressions;
using Aisa.Settlement.Api.Tests.Payouts;
using Aisa.Settlement.Client;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Aisa.Settlement.Api.Tests.Web;

/// <summary>
/// The publisher's payouts page in Debian's chromium: the publisher chooses the Lightning rail and a Lightning address on
/// it, which the rail checks (a FAKE BTCPay Server whose LNURL-pay server resolves the address: no Lightning node runs
/// here), a payout run pays it, and the page lists the payout with its evidence as the API answers it.
/// </summary>
public sealed class PublisherPayoutBrowserTests : IAsyncLifetime
{
    private LightningFake _fake = null!;
    private TestStore _store = null!;
    private SettlementFactory _factory = null!;
    private Chromium _browser = null!;

    public async Task InitializeAsync()
    {
        _fake = await LightningFake.StartAsync();
        _store = await TestStore.CreateAsync(StorageOptions.Sqlite);
        var settings = _fake.Settings("btcpay");
        settings["Rails:Lightning:Payouts:MaxFeePercent"] = "1";
        settings["Payouts:Schedule"] = "0 0 1 1 *";
        settings["Payouts:PollIntervalSeconds"] = "1";
        _factory = new SettlementFactory(_store, settings);
        _browser = await Chromium.LaunchAsync("wallet");
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
        if (_fake is not null)
        {
            await _fake.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_publisher_sets_a_payout_rail_the_rail_refuses_a_bad_destination_and_the_payout_appears_in_the_history_with_its_evidence()
    {
        var api = new AisaClient(_factory.CreateClient());
        var agent = await api.RegisterAgentAsync();
        await api.FundAsync(agent.Id, 10m);
        var page = await _browser.NewPageAsync(_factory.Url);
        var domain = $"site-{Guid.NewGuid():N}.example.com";
        var email = $"editor@{domain}";

        await page.GotoAsync("/publisher/signup");
        await page.FillAsync("#email", email);
        await page.FillAsync("#password", "correct horse");
        await page.FillAsync("#domain", domain);
        await page.ClickAsync("button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex("/publisher/$"));
        await page.FillAsync("#rule-form [name=urlPattern]", "/");
        await page.FillAsync("#rule-form [name=price]", "1.50");
        await page.ClickAsync("#rule-form button[type=submit]");
        await Expect(page.Locator(".notice")).ToHaveTextAsync("The rule is added.");
        for (var i = 0; i < 3; i++)
        {
            var read = await api.VerifyAsync(new { publisherDomain = domain, resourceUrl = $"/article/{i}", crawlerMaxPrice = "USD 1.50" }, agent.CrawlerToken);
            Assert.True(read.Status == HttpStatusCode.OK, read.Raw);
        }

        await page.ClickAsync("header a[href='/publisher/payouts']");
        await Expect(page.Locator("#payout-rail")).ToHaveTextAsync("none chosen");
        await Expect(page.Locator("#available")).ToHaveTextAsync("4.05");
        await Expect(page.Locator("#payouts")).ToHaveCountAsync(0);

        // The rail checks the destination: not a Lightning address, refused with the rail's reason, nothing saved.
        await page.SelectOptionAsync("#payout-form [name=rail]", "lightning");
        await page.FillAsync("#payout-form [name=destination]", "not-an-address");
        await page.ClickAsync("#payout-form button[type=submit]");
        await Expect(page.Locator(".error")).ToHaveTextAsync("destination on lightning is a Lightning address, name@domain (LUD-16).");
        await Expect(page.Locator("#payout-form [name=destination]")).ToHaveValueAsync("not-an-address");
        var session = (await api.Publishers.LoginAsync(email, "correct horse")).Required.Token;
        Assert.Equal(404, (await api.SendAsync(HttpMethod.Get, "/api/publisher/payout-settings", headers: AisaClient.Bearer(session))).Code);
        await page.FillAsync("#payout-form [name=minimumAmount]", "0.5");
        await page.FillAsync("#payout-form [name=destination]", _fake.Address("editor"));
        await page.ClickAsync("#payout-form button[type=submit]");
        await Expect(page.Locator(".error")).ToContainTextAsync("minimumAmount is at least");

        // A Lightning address the fake's LNURL server resolves, in capitals: saved as the rail normalised it.
        await page.FillAsync("#payout-form [name=minimumAmount]", "1");
        await page.FillAsync("#payout-form [name=destination]", _fake.Address("editor").ToUpperInvariant());
        await page.ClickAsync("#payout-form button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex("/publisher/payouts\\?done=saved$"));
        await Expect(page.Locator(".notice")).ToContainTextAsync("Your payout rail is saved");
        await Expect(page.Locator("#payout-rail")).ToHaveTextAsync("lightning");
        await Expect(page.Locator("#payout-destination")).ToHaveTextAsync(_fake.Address("editor"));

        // A payout run pays the earnings; the page lists the payout as the API answers it.
        await PayoutFlow.RunAsync(api);
        var payout = await PayoutFlow.WaitForPayoutAsync(api, session, "confirmed", () => Task.CompletedTask);
        await page.ReloadAsync();
        var row = page.Locator($"#payouts tr[data-payout='{payout.GetProperty("id").GetInt64()}']");
        await Expect(row.Locator(".state")).ToHaveTextAsync("confirmed");
        await Expect(row.Locator(".num")).ToHaveTextAsync("4.05");
        await Expect(row.Locator(".reference")).ToHaveTextAsync(payout.GetProperty("reference").GetString()!);
        var evidence = payout.GetProperty("evidence");
        await Expect(row.Locator("[data-fact=preimage]")).ToHaveTextAsync($"preimage: {evidence.GetProperty("preimage").GetString()}");
        await Expect(row.Locator("[data-fact=msat]")).ToHaveTextAsync($"msat: {evidence.GetProperty("msat").GetInt64()}");
        await Expect(page.Locator("#paid")).ToHaveTextAsync("4.05");
        await Expect(page.Locator("#available")).ToHaveTextAsync("0.00");
        Assert.Equal((1, 1, 4_050_000L), await _fake.ReceivedAsync("editor"));
        await _browser.ShotAsync(page, "30-publisher-payouts");
    }
}
