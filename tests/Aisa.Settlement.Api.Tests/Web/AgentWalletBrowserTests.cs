using System.Text.RegularExpressions;
using Aisa.Settlement.Client;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Aisa.Settlement.Api.Tests.Web;

/// <summary>
/// The agent's wallet in Debian's chromium, headless, driven by Playwright, as a person uses it: signs up (the token shown
/// once), tops up on the sandbox rail and sees the balance and the deposit, rotates the crawler token (the old one stops
/// working), logs out and in. And the API reference at /docs renders the typed document with no network. Screenshots go
/// to .test-artifacts/wallet/.
/// </summary>
public sealed class AgentWalletBrowserTests : IAsyncLifetime
{
    private TestStore _store = null!;
    private SettlementFactory _factory = null!;
    private Chromium _browser = null!;

    public async Task InitializeAsync()
    {
        _store = await TestStore.CreateAsync(StorageOptions.Sqlite);
        _factory = new SettlementFactory(_store, new Dictionary<string, string> { ["Rails:Sandbox:Enabled"] = "true" }, environment: "Development");
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
    }

    private Task ShotAsync(IPage page, string name) => _browser.ShotAsync(page, name);

    private Task<IPage> NewPageAsync() => _browser.NewPageAsync(_factory.Url);

    [Fact]
    public async Task An_agent_signs_up_tops_up_on_the_sandbox_rail_sees_the_balance_rotates_the_token_and_logs_out_and_in()
    {
        var api = new AisaClient(_factory.CreateClient());
        var (domain, publisherSession) = await api.RegisterPublisherAsync();
        await api.CreateRuleAsync(publisherSession, new NewRule("/articles/", "pay", 0.01m));
        var page = await NewPageAsync();
        var email = $"crawler-{Guid.NewGuid():N}@example.com";

        // The wallet's address, as the AISA documents give it, sends a stranger to the login, and from there to the sign-up.
        await page.GotoAsync("/agent/wallet.html");
        await Expect(page).ToHaveURLAsync(new Regex("/agent/login\\?returnUrl="));
        await page.ClickAsync("a[href='/agent/signup']");
        await page.FillAsync("#email", email);
        await page.FillAsync("#password", "short");
        await page.FillAsync("#crawlerType", "MyBot");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator(".error")).ToContainTextAsync("password");
        await page.FillAsync("#password", "correct horse");
        await page.ClickAsync("button[type=submit]");
        var firstToken = await page.Locator("#crawler-token").TextContentAsync();
        Assert.StartsWith("aisa_", firstToken, StringComparison.Ordinal);
        await ShotAsync(page, "01-signed-up-token-once");

        await page.ClickAsync("a:has-text('Go to your wallet')");
        await Expect(page.Locator("#balance")).ToHaveTextAsync("0.000000");
        await Expect(page.Locator("#wallet-state")).ToHaveTextAsync("active");
        await Expect(page.Locator("body")).Not.ToContainTextAsync(firstToken!);

        // Top up $5 on the sandbox rail: credited at once; the wallet shows the balance, the deposit and the transaction.
        await page.FillAsync("#topup-amount", "5.00");
        await page.SelectOptionAsync("#topup-rail", "sandbox");
        await ShotAsync(page, "02-wallet-top-up");
        await page.ClickAsync("#topup-form button[type=submit]");
        await Expect(page.Locator("#topup-answer [data-field=state]")).ToHaveTextAsync("credited");
        await page.ClickAsync("a:has-text('Back to the wallet')");
        await Expect(page.Locator("#balance")).ToHaveTextAsync("5.000000");
        await Expect(page.Locator("#deposits tbody tr").First.Locator(".state")).ToHaveTextAsync("credited");
        await Expect(page.Locator("#transactions tbody tr")).ToHaveCountAsync(1);
        await ShotAsync(page, "03-wallet-funded");

        // The crawler reads an article with the token the page showed: charged once, and the page shows it.
        var read = await api.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/articles/1", crawlerAutoPrice = true }, firstToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, read.Status);
        await page.ReloadAsync();
        await Expect(page.Locator("#balance")).ToHaveTextAsync("4.990000");
        await Expect(page.Locator("#transactions tbody tr")).ToHaveCountAsync(2);

        // Rotate: the new token is shown once; the old one stops working at once, the new one works.
        await page.ClickAsync("#rotate-form button[type=submit]");
        var secondToken = await page.Locator("#crawler-token").TextContentAsync();
        Assert.NotEqual(firstToken, secondToken);
        await ShotAsync(page, "04-token-rotated");
        var old = await api.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/articles/2", crawlerAutoPrice = true }, firstToken);
        Assert.Equal("invalid_token", old.Body.GetProperty("error").GetString());
        var fresh = await api.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/articles/2", crawlerAutoPrice = true }, secondToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, fresh.Status);

        // Log out: the wallet is closed to this browser until it logs in again, and then it is where it was.
        await page.ClickAsync("a:has-text('Back to the wallet')");
        await page.ClickAsync("header button:has-text('Log out')");
        await Expect(page).ToHaveURLAsync(new Regex("/agent/login$"));
        await page.GotoAsync("/agent/");
        await Expect(page).ToHaveURLAsync(new Regex("/agent/login\\?returnUrl="));
        await page.FillAsync("#email", email);
        await page.FillAsync("#password", "correct horse");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("#balance")).ToHaveTextAsync("4.980000");
        Assert.Equal(4.98m, await api.BalanceAsync((await api.Agents.LoginAsync(email, "correct horse")).Required.Token));
    }

    [Fact]
    public async Task An_agent_sets_a_budget_and_an_approval_threshold_and_approves_the_charge_that_waits_for_it()
    {
        var api = new AisaClient(_factory.CreateClient());
        var (domain, publisherSession) = await api.RegisterPublisherAsync();
        await api.CreateRuleAsync(publisherSession, new NewRule("/reports/", "pay", 0.10m));
        var page = await NewPageAsync();
        await page.GotoAsync("/agent/signup");
        var email = $"guarded-{Guid.NewGuid():N}@example.com";
        await page.FillAsync("#email", email);
        await page.FillAsync("#password", "correct horse");
        await page.ClickAsync("button[type=submit]");
        var crawlerToken = await page.Locator("#crawler-token").TextContentAsync();
        await page.ClickAsync("a:has-text('Go to your wallet')");
        await page.FillAsync("#topup-amount", "2.00");
        await page.ClickAsync("#topup-form button[type=submit]");

        // A value the API refuses is shown with its reason, and nothing is saved.
        await page.ClickAsync("header a:has-text('Guard')");
        await page.FillAsync("#dailyBudget", "2000000");
        await page.ClickAsync("#guard-form button[type=submit]");
        await Expect(page.Locator(".error")).ToContainTextAsync("dailyBudget is a USD amount from 0");
        var session = (await api.Agents.LoginAsync(email, "correct horse")).Required.Token;
        Assert.Null((await api.Agents.GuardAsync(session)).Required.DailyBudget);

        await page.FillAsync("#dailyBudget", "1.00");
        await page.FillAsync("#approvalAbove", "0.05");
        await page.FillAsync("#publisherDenylist", "spam.example.com");
        await page.ClickAsync("#guard-form button[type=submit]");
        await Expect(page.Locator(".notice")).ToHaveTextAsync("The policy is saved.");
        await Expect(page.Locator("#dailyBudget")).ToHaveValueAsync("1");
        var policy = (await api.Agents.GuardAsync(session)).Required;
        Assert.Equal(1.00m, policy.DailyBudget);
        Assert.Equal(0.05m, policy.ApprovalAbove);
        Assert.Equal(["spam.example.com"], policy.PublisherDenylist!);

        // The crawler's 0.10 read waits for approval; the page lists it; approved there, the retry is charged once.
        var body = new { publisherDomain = domain, resourceUrl = "/reports/q3", crawlerAutoPrice = true };
        var waiting = await api.VerifyAsync(body, crawlerToken);
        Assert.Equal("approval_required", waiting.Body.GetProperty("error").GetString());
        var approvalId = waiting.Body.GetProperty("approvalId").GetString()!;
        await page.ReloadAsync();
        var row = page.Locator($"#approvals tr[data-approval='{approvalId}']");
        await Expect(row.Locator(".state")).ToHaveTextAsync("pending");
        await _browser.ShotAsync(page, "08-guard-approval-waiting");
        await row.Locator("button:has-text('Approve')").ClickAsync();
        await Expect(page.Locator(".notice")).ToContainTextAsync("Approved");
        await Expect(page.Locator($"#approvals tr[data-approval='{approvalId}'] .state")).ToHaveTextAsync("approved");
        var charged = await api.VerifyAsync(body, crawlerToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, charged.Status);
        Assert.Equal(0.10m, charged.Body.GetProperty("charge").GetProperty("amount").GetDecimal());
        await page.ReloadAsync();
        await Expect(page.Locator("#spending [data-period=day] .spent")).ToHaveTextAsync("0.10");
        await Expect(page.Locator("#spending [data-period=day] .remaining")).ToHaveTextAsync("0.90");
        await _browser.ShotAsync(page, "09-guard-approved-and-spent");
        Assert.Equal(1.90m, await api.BalanceAsync(session));
    }

    [Fact]
    public async Task A_publisher_signs_up_adds_a_rule_previews_it_sees_a_charge_arrive_in_its_earnings_edits_and_deletes_it()
    {
        var api = new AisaClient(_factory.CreateClient());
        var agent = await api.RegisterAgentAsync();
        await api.FundAsync(agent.Id, 1.00m);
        var page = await NewPageAsync();
        var domain = $"site-{Guid.NewGuid():N}.example.com";

        await page.GotoAsync("/publisher/");
        await Expect(page).ToHaveURLAsync(new Regex("/publisher/login\\?returnUrl="));
        await page.ClickAsync("a[href='/publisher/signup']");
        await page.FillAsync("#email", $"editor@{domain}");
        await page.FillAsync("#password", "correct horse");
        await page.FillAsync("#domain", "not a domain");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator(".error")).ToContainTextAsync("domain is a host name");
        await page.FillAsync("#password", "correct horse");
        await page.FillAsync("#domain", domain);
        await page.ClickAsync("button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex("/publisher/$"));
        await Expect(page.Locator("#available")).ToHaveTextAsync("0.00");

        // A rule: $0.02 per request under /news/; the preview picks it for a path under it, and nothing elsewhere.
        await page.FillAsync("#rule-form [name=urlPattern]", "/news/");
        await page.FillAsync("#rule-form [name=price]", "0.02");
        await page.ClickAsync("#rule-form button[type=submit]");
        await Expect(page.Locator(".notice")).ToHaveTextAsync("The rule is added.");
        await Expect(page.Locator("#rules tbody tr")).ToHaveCountAsync(1);
        await page.FillAsync("#preview-form [name=path]", "/news/today");
        await page.ClickAsync("#preview-form button[type=submit]");
        await Expect(page.Locator("#preview")).ToContainTextAsync("hits the rule /news/: pay, USD 0.02 per-request");
        await page.FillAsync("#preview-form [name=path]", "/about");
        await page.ClickAsync("#preview-form button[type=submit]");
        await Expect(page.Locator("#preview")).ToContainTextAsync("No rule matches /about");
        await _browser.ShotAsync(page, "20-publisher-rule-and-preview");

        // A crawler reads one article: the charge arrives in the earnings on the page.
        var read = await api.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/news/today", crawlerAutoPrice = true }, agent.CrawlerToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, read.Status);
        await page.GotoAsync("/publisher/");
        await Expect(page.Locator("#gross")).ToHaveTextAsync("0.02");
        await Expect(page.Locator("#available")).ToHaveTextAsync("0.018");
        await _browser.ShotAsync(page, "21-publisher-earnings");

        // Edited to 0.05 (a bad price first: refused with the API's reason, nothing changed), then deleted.
        var row = page.Locator("#rules tbody tr").First;
        await row.Locator("[name=price]").FillAsync("-1");
        await row.Locator("button:has-text('Save')").ClickAsync();
        await Expect(page.Locator(".error")).ToContainTextAsync("price");
        await page.GotoAsync("/publisher/");
        await page.Locator("#rules tbody tr").First.Locator("[name=price]").FillAsync("0.05");
        await page.Locator("#rules tbody tr").First.Locator("button:has-text('Save')").ClickAsync();
        await Expect(page.Locator(".notice")).ToHaveTextAsync("The rule is saved.");
        var session = (await api.Publishers.LoginAsync($"editor@{domain}", "correct horse")).Required.Token;
        Assert.Equal(0.05m, Assert.Single((await api.Publishers.RulesAsync(session)).Required).Price);
        await page.Locator("#rules tbody tr").First.Locator("button:has-text('Delete')").ClickAsync();
        await Expect(page.Locator(".notice")).ToHaveTextAsync("The rule is deleted.");
        Assert.Empty((await api.Publishers.RulesAsync(session)).Required);
    }

    [Fact]
    public async Task The_api_reference_at_docs_renders_the_typed_document_without_a_network()
    {
        var page = await NewPageAsync();
        var outside = new List<string>();
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(_factory.Url.ToString().TrimEnd('/'), StringComparison.Ordinal) && !request.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                outside.Add(request.Url);
            }
        };

        await page.GotoAsync("/docs");
        // Scalar reads /openapi/v1.json: the guide of the document's description, and the operations with their summaries.
        await Expect(page.Locator("body")).ToContainTextAsync("An agent's first paid request");
        await Expect(page.GetByText("Decides one request for a publisher's resource: 200 (granted, charged once)").First).ToBeVisibleAsync();
        await Expect(page.Locator("body")).ToContainTextAsync("/api/v1/access/verify");
        // Every tag of the document is a group of the reference.
        foreach (var tag in new[] { "Agent", "Publisher", "Operator", "Webhooks" })
        {
            await Expect(page.GetByText($"Open Group - {tag}")).ToHaveCountAsync(1);
        }
        await ShotAsync(page, "10-api-reference");
        Assert.Empty(outside);
    }
}
