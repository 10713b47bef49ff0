using System.Numerics;
using System.Text.RegularExpressions;
using Aisa.Settlement.Api.Tests.Rails;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Aisa.Settlement.Api.Tests.Dashboard;

/// <summary>
/// The operator's pages in Debian's chromium, headless, driven by Playwright: an operator logs in, opens Hangfire's
/// dashboard, finds the Confirmations page in its navigation, watches a deposit's confirmation bar advance as blocks are
/// mined on a local EVM node (ganache) until it is credited, pauses a watcher, runs it by hand and resumes it, triggers a
/// run from Hangfire's own page, and finds a failing watcher's error. Screenshots go to .test-artifacts/dashboard/.
/// </summary>
public sealed class DashboardBrowserTests : IAsyncLifetime
{

    private Ganache _node = null!;
    private string _token = null!;
    private TestStore _store = null!;
    private SettlementFactory _factory = null!;
    private Chromium _browser = null!;

    public async Task InitializeAsync()
    {
        _node = await Ganache.StartAsync(EvmWatch.ChainId);
        _token = await _node.OrStopAsync(n => n.DeployTokenAsync(decimals: 6));
        _store = await TestStore.CreateAsync(StorageOptions.Postgres);
        var settings = EvmWatch.Settings(_node.Url, _token);
        // A second chain whose node is down: its watcher fails every pass, with the reason.
        settings["Rails:Evm:Chains:polygon:ChainId"] = "80002";
        settings["Rails:Evm:Chains:polygon:RpcUrls:0"] = "http://127.0.0.1:9/";
        settings["Rails:Evm:Chains:polygon:Confirmations"] = "3";
        settings["Rails:Evm:Chains:polygon:PollIntervalSeconds"] = "2";
        settings["Rails:Evm:Chains:polygon:RpcTimeoutSeconds"] = "1";
        settings["Rails:Evm:Chains:polygon:Xpub"] = EvmWatch.Xpub;
        settings["Rails:Evm:Chains:polygon:Tokens:0:Symbol"] = "USDC";
        settings["Rails:Evm:Chains:polygon:Tokens:0:Address"] = _token;
        settings["Rails:Evm:Chains:polygon:Tokens:0:Decimals"] = "6";
        settings["Scheduling:LeaseSeconds"] = "5";
        _factory = new SettlementFactory(_store, settings);
        _browser = await Chromium.LaunchAsync("dashboard");
    }

    public async Task DisposeAsync()
    {
        try
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
        finally
        {
            // Whatever failed to stop, the node does not outlive the test.
            if (_node is not null)
            {
                await _node.DisposeAsync();
            }
        }
    }

    private Task ShotAsync(IPage page, string name) => _browser.ShotAsync(page, name);

    private async Task<int> RunCountAsync(string job)
    {
        var reply = await new AisaClient(_factory.CreateClient()).SendAsync(HttpMethod.Get, $"/api/operator/jobs?job={job}&limit=200", headers: AisaClient.Operator());
        return reply.Body.GetProperty("runs").EnumerateArray().Count(r => r.GetProperty("outcome").GetString() != "running");
    }

    private async Task WaitForRunsAsync(string job, int atLeast, string what)
    {
        var deadline = DateTime.UtcNow + EvmWatch.Patience;
        while (await RunCountAsync(job) < atLeast)
        {
            Assert.True(DateTime.UtcNow < deadline, $"No {what} within {EvmWatch.Patience.TotalSeconds} s.");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task An_operator_logs_in_watches_a_deposit_confirm_on_the_confirmations_page_pauses_resumes_and_runs_a_watcher_and_reads_a_failed_runs_error()
    {
        var client = new AisaClient(_factory.CreateClient());
        var agent = await client.RegisterAgentAsync();
        var address = await EvmWatch.AddressAsync(client, agent.SessionToken);
        var page = await _browser.NewPageAsync(_factory.Url, width: 1400);

        // Log in: the jobs dashboard sends an unknown visitor to the operator login first.
        await page.GotoAsync("/dashboard/jobs");
        await Expect(page).ToHaveURLAsync(new Regex("/dashboard/login"));
        await page.FillAsync("#key", "not-the-key");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator(".error")).ToContainTextAsync("not the operator key");
        await page.FillAsync("#key", SettlementFactory.OperatorKey);
        await page.ClickAsync("button[type=submit]");
        // Back to the page first asked for: Hangfire's dashboard, with the way back to the console.
        await Expect(page).ToHaveURLAsync(new Regex("/dashboard/jobs$"));
        await Expect(page.Locator(".navbar-brand")).ToHaveTextAsync("AISA jobs");
        await Expect(page.Locator(".navbar a[href='/dashboard']")).ToBeVisibleAsync();
        await ShotAsync(page, "01-hangfire-after-login");

        // The Confirmations page is in Hangfire's own navigation.
        await page.ClickAsync(".navbar a:has-text('Confirmations')");
        await Expect(page).ToHaveURLAsync(new Regex("/dashboard/jobs/confirmations$"));
        await Expect(page.Locator("h1")).ToHaveTextAsync("Confirmations");
        await Expect(page.Locator("#watchers tr[data-job='watch:base']")).ToBeVisibleAsync();

        // A transfer to the agent's address, mined: the row appears at 1/3 and follows the chain without a reload.
        await _node.TransferAsync(_token, address, new BigInteger(2_500_000));
        var row = page.Locator("#confirmations tbody tr").First;
        await Expect(row.Locator(".confirmations")).ToHaveTextAsync(new Regex("1/3$"));
        await Expect(row.Locator(".state")).ToHaveTextAsync("detected");
        await Expect(row.Locator("[role=progressbar]")).ToHaveAttributeAsync("aria-valuenow", "1");
        await ShotAsync(page, "02-confirmations-1-of-3");
        await _node.MineAsync(1);
        await Expect(row.Locator(".confirmations")).ToHaveTextAsync(new Regex("2/3$"));
        await Expect(row.Locator(".state")).ToHaveTextAsync("confirming");
        await ShotAsync(page, "03-confirmations-2-of-3");
        await _node.MineAsync(1);
        await Expect(row.Locator(".state")).ToHaveTextAsync("credited");
        await Expect(row.Locator(".confirmations")).ToHaveTextAsync(new Regex("3/3$"));
        await Expect(row).ToContainTextAsync("2.500000");
        // What was last learned about it, under its reference: the credit's ledger key.
        await Expect(row.Locator(".evidence-latest")).ToContainTextAsync("ledgerKey=deposit:ba");
        // The watcher's last pass, as the page shows it, saw the head.
        await Expect(page.Locator("#watchers tr[data-job='watch:base'] .last-pass")).ToContainTextAsync("succeeded");
        await ShotAsync(page, "04-confirmations-credited");
        Assert.Equal(2.5m, await client.BalanceAsync(agent.SessionToken));

        // Pause the base watcher: no pass runs on schedule; "Run now" runs exactly one while it stays paused.
        await page.ClickAsync("#watchers button[data-action=pause][data-job='watch:base']");
        await Expect(page.Locator("#watchers tr[data-job='watch:base'] .state")).ToHaveTextAsync("paused");
        await Expect(page.Locator("#watchers button[data-action=resume][data-job='watch:base']")).ToBeVisibleAsync();
        // A pass that began before the pause ends first.
        await WaitForRunsAsync("watch:base", await RunCountAsync("watch:base"), "the pass in flight ending");
        var running = DateTime.UtcNow + EvmWatch.Patience;
        while ((await new AisaClient(_factory.CreateClient()).SendAsync(HttpMethod.Get, "/api/operator/jobs?job=watch:base&outcome=running", headers: AisaClient.Operator()))
            .Body.GetProperty("runs").GetArrayLength() > 0)
        {
            Assert.True(DateTime.UtcNow < running, "A pass begun before the pause never ended.");
            await Task.Delay(100);
        }
        var paused = await RunCountAsync("watch:base");
        await Task.Delay(2500);
        Assert.Equal(paused, await RunCountAsync("watch:base"));
        await ShotAsync(page, "05-confirmations-paused");
        await page.ClickAsync("#watchers button[data-action=run][data-job='watch:base']");
        await WaitForRunsAsync("watch:base", paused + 1, "the run asked for by hand");
        await Task.Delay(2500);
        Assert.Equal(paused + 1, await RunCountAsync("watch:base"));
        await page.ClickAsync("#watchers button[data-action=resume][data-job='watch:base']");
        await Expect(page.Locator("#watchers tr[data-job='watch:base'] .state")).ToHaveTextAsync("active");
        await WaitForRunsAsync("watch:base", paused + 3, "passes after the resume");

        // A pass's page in Hangfire shows its summary (what it read of the chain) and where it ran.
        var lastPass = (await new AisaClient(_factory.CreateClient()).SendAsync(HttpMethod.Get, "/api/operator/jobs?job=watch:base&outcome=succeeded&limit=1", headers: AisaClient.Operator()))
            .Body.GetProperty("runs")[0];
        await page.GotoAsync($"/dashboard/jobs/jobs/details/{lastPass.GetProperty("id").GetInt64()}");
        await Expect(page.Locator("body")).ToContainTextAsync("blocksScanned");
        await Expect(page.Locator("body")).ToContainTextAsync("rpcCalls");
        await Expect(page.Locator("body")).ToContainTextAsync(lastPass.GetProperty("instance").GetString()!);
        await ShotAsync(page, "06-hangfire-pass-summary");

        // Hangfire's own recurring jobs page triggers a run too.
        await page.GotoAsync("/dashboard/jobs/recurring");
        await Expect(page.Locator("input.js-jobs-list-checkbox[value='watch:base']")).ToBeVisibleAsync();
        var beforeTrigger = await RunCountAsync("watch:polygon");
        await page.CheckAsync("input.js-jobs-list-checkbox[value='watch:polygon']");
        await ShotAsync(page, "07-hangfire-recurring-jobs");
        // Hangfire's script reloads the page once the trigger is posted: a navigation started before that reload is aborted by it.
        var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLoad(object? sender, IPage loaded) => reloaded.TrySetResult();
        page.Load += OnLoad;
        await page.ClickAsync("button.js-jobs-list-command[data-url$='/recurring/trigger']");
        await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(60));
        page.Load -= OnLoad;
        await WaitForRunsAsync("watch:polygon", beforeTrigger + 1, "the run Hangfire triggered");

        // The failing watcher: its error on the Confirmations page, and its failed runs on Hangfire's page with the node's error.
        await page.GotoAsync("/dashboard/jobs/confirmations");
        await Expect(page.Locator("#watchers tr[data-job='watch:polygon'] .last-error")).ToContainTextAsync("ConnectionRefused");
        await Expect(page.Locator("#watchers tr[data-job='watch:polygon'] button[data-action=run]")).ToHaveTextAsync("Retry now");
        await page.GotoAsync("/dashboard/jobs/jobs/failed");
        await Expect(page.Locator(".js-jobs-list-row").First).ToContainTextAsync("watch:polygon");
        await Expect(page.Locator("body")).ToContainTextAsync("ConnectionRefused");
        await ShotAsync(page, "08-hangfire-failed-error");

        // Back in the console: the overview counts the failures; the ledger page finds the audit balanced.
        await page.ClickAsync(".navbar a[href='/dashboard']");
        await Expect(page.Locator("#failed-runs")).Not.ToHaveTextAsync("0");
        await ShotAsync(page, "09-overview");
        await page.GotoAsync("/dashboard/ledger");
        await Expect(page.Locator("#audit")).ToHaveTextAsync("balanced");
        await ShotAsync(page, "10-ledger");
        Assert.True(File.Exists(_browser.Screenshot("04-confirmations-credited")));
    }
}
