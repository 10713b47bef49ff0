using System.Numerics;
using System.Text.RegularExpressions;
using Aisa.Settlement.Api.Tests.Rails;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Aisa.Settlement.Api.Tests.Dashboard;

/// <summary>
/// The dashboard in Debian's chromium, headless, driven by Playwright: an operator logs in, watches a deposit's
/// confirmation bar advance as blocks are mined on a local EVM node (ganache) until it is credited, pauses a watcher
/// and runs it by hand, and finds a failing watcher's error. Screenshots go to .test-artifacts/dashboard/.
/// </summary>
public sealed class DashboardBrowserTests : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";
    private static readonly string Screenshots = Path.Combine(RepositoryPaths.Root, ".test-artifacts", "dashboard");

    private Ganache _node = null!;
    private string _token = null!;
    private TestStore _store = null!;
    private SettlementFactory _factory = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"{Chromium} is missing: scripts/test.sh installs Debian's chromium (apt-get install chromium).");
        }
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
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // Root in CI needs --no-sandbox; the rest keeps chromium off a network this machine does not have.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        Directory.CreateDirectory(Screenshots);
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_browser is not null)
            {
                await _browser.DisposeAsync();
            }
            _playwright?.Dispose();
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

    private static async Task ShotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });

    private async Task<int> RunCountAsync(string job)
    {
        var reply = await new AisaClient(_factory.CreateClient()).SendAsync(HttpMethod.Get, $"/api/operator/jobs?job={job}&limit=200", headers: AisaClient.Operator());
        return reply.Body.GetProperty("runs").EnumerateArray().Count(r => r.GetProperty("outcome").GetString() != "running");
    }

    [Fact]
    public async Task An_operator_logs_in_watches_a_deposit_confirm_to_credited_runs_a_paused_watcher_by_hand_and_reads_a_failed_runs_error()
    {
        var client = new AisaClient(_factory.CreateClient());
        var agent = await client.RegisterAgentAsync();
        var address = await EvmWatch.AddressAsync(client, agent.SessionToken);
        var page = await _browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = _factory.Url.ToString(), ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        SetDefaultExpectTimeout(30_000);
        page.SetDefaultTimeout(30_000);

        // Log in: the dashboard sends an unknown visitor to the login form first.
        await page.GotoAsync("/dashboard/deposits");
        await Expect(page).ToHaveURLAsync(new Regex("/dashboard/login"));
        await page.FillAsync("#key", "not-the-key");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator(".error")).ToContainTextAsync("not the operator key");
        await page.FillAsync("#key", SettlementFactory.OperatorKey);
        await page.ClickAsync("button[type=submit]");
        // Back to the page first asked for.
        await Expect(page.Locator("h1")).ToHaveTextAsync("Deposits");
        await ShotAsync(page, "01-deposits-after-login");

        // A transfer to the agent's address, mined: the row appears at 1/3 and follows the chain without a reload.
        await _node.TransferAsync(_token, address, new BigInteger(2_500_000));
        var row = page.Locator("#deposits tbody tr").First;
        await Expect(row.Locator(".confirmations")).ToHaveTextAsync(new Regex("1/3$"));
        await Expect(row.Locator(".state")).ToHaveTextAsync("detected");
        await Expect(row.Locator("[role=progressbar]")).ToHaveAttributeAsync("aria-valuenow", "1");
        await ShotAsync(page, "02-deposit-1-of-3");
        await _node.MineAsync(1);
        await Expect(row.Locator(".confirmations")).ToHaveTextAsync(new Regex("2/3$"));
        await Expect(row.Locator(".state")).ToHaveTextAsync("confirming");
        await ShotAsync(page, "03-deposit-2-of-3");
        await _node.MineAsync(1);
        await Expect(row.Locator(".state")).ToHaveTextAsync("credited");
        await Expect(row.Locator(".confirmations")).ToHaveTextAsync(new Regex("3/3$"));
        await Expect(row).ToContainTextAsync("2.500000");
        await ShotAsync(page, "04-deposit-credited");
        Assert.Equal(2.5m, await client.BalanceAsync(agent.SessionToken));

        // Pause the base watcher, then "Run now": exactly one run more while it is paused.
        await page.GotoAsync("/dashboard/jobs");
        await page.ClickAsync("button[data-action=pause][data-job='watch:base']");
        await Expect(page.Locator("#done")).ToContainTextAsync("watch:base paused");
        await Expect(page.Locator("tr[data-job='watch:base']")).ToContainTextAsync("paused");
        await Task.Delay(2500);
        var paused = await RunCountAsync("watch:base");
        await Task.Delay(2500);
        Assert.Equal(paused, await RunCountAsync("watch:base"));
        await page.ClickAsync("button[data-action=run][data-job='watch:base']");
        await Expect(page.Locator("#done")).ToContainTextAsync("Run of watch:base requested");
        var deadline = DateTime.UtcNow + EvmWatch.Patience;
        while (await RunCountAsync("watch:base") == paused)
        {
            Assert.True(DateTime.UtcNow < deadline, "The run asked for by hand never ran.");
            await Task.Delay(200);
        }
        await page.ReloadAsync();
        await Expect(page.Locator("tr[data-job='watch:base']")).ToContainTextAsync("succeeded");
        await ShotAsync(page, "05-jobs-run-now");
        Assert.Equal(paused + 1, await RunCountAsync("watch:base"));
        await page.ClickAsync("button[data-action=resume][data-job='watch:base']");
        await Expect(page.Locator("#done")).ToContainTextAsync("watch:base resumed");

        // The failing watcher: its failed runs are found by searching the history, with the node's error.
        await page.SelectOptionAsync("select[name=job]", "watch:polygon");
        await page.SelectOptionAsync("select[name=outcome]", "failed");
        await page.ClickAsync("form.filters button[type=submit]");
        var failed = page.Locator("#runs tbody tr.failed").First;
        await Expect(failed).ToContainTextAsync("watch:polygon");
        await Expect(failed.Locator(".run-error")).ToContainTextAsync("ConnectionRefused");
        await Expect(page.Locator("tr[data-job='watch:polygon'] button[data-action=run]")).ToHaveTextAsync("Retry now");
        await ShotAsync(page, "06-jobs-failed-error");

        // The overview counts the failures and charts the charges; the ledger page finds the audit balanced.
        await page.GotoAsync("/dashboard");
        await Expect(page.Locator("#failed-runs")).Not.ToHaveTextAsync("0");
        await ShotAsync(page, "08-overview");
        await page.GotoAsync("/dashboard/ledger");
        await Expect(page.Locator("#audit")).ToHaveTextAsync("balanced");
        await ShotAsync(page, "07-ledger");
        Assert.True(File.Exists(Path.Combine(Screenshots, "04-deposit-credited.png")));
    }
}
