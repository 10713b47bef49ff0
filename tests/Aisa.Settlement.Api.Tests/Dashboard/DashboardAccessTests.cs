using Aisa.Settlement.Testing;
using System.Net;
using Aisa.Settlement.Api.Tests.Rails;
using Aisa.Settlement.Storage;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Api.Tests.Dashboard;

/// <summary>The dashboard's login, its refusals without it, its antiforgery checks, Hangfire's pages behind it, and the job controls of its Confirmations page (on the Stripe watcher, against the fake Stripe API).</summary>
public sealed class DashboardAccessTests : IAsyncLifetime
{
    private readonly Observability.CapturedLogs _logs = new();
    private FakeStripe _stripe = null!;
    private TestStore _store = null!;
    private SettlementFactory _factory = null!;

    public async Task InitializeAsync()
    {
        _stripe = await FakeStripe.StartAsync();
        _store = await TestStore.CreateAsync(StorageOptions.Sqlite);
        _factory = new SettlementFactory(_store, new Dictionary<string, string>
        {
            ["Rails:Stripe:SecretKey"] = FakeStripe.SecretKey,
            ["Rails:Stripe:WebhookSecret"] = "whsec_dashboard_tests",
            ["Rails:Stripe:ApiBaseUrl"] = _stripe.Url.ToString(),
            ["Rails:Stripe:SuccessUrl"] = "https://agent.example/done",
            ["Rails:Stripe:CancelUrl"] = "https://agent.example/cancel",
            ["Rails:Stripe:PollIntervalSeconds"] = "1",
            ["Scheduling:LeaseSeconds"] = "3",
            ["Logging:LogLevel:Aisa.Settlement.Api.Jobs.LeasedRuns"] = "Debug",
            ["Notifications:AllowPrivateNetworks"] = "true",
        }, services => services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(_logs));
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _factory.DisposeAsync();
            await _store.DisposeAsync();
        }
        finally
        {
            await _stripe.DisposeAsync();
        }
    }

    /// <summary>Every console route the service maps, with its parameters filled in; the login form and the static assets excepted.</summary>
    private IEnumerable<(string Method, string Path)> DashboardRoutes() =>
        _factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/dashboard", StringComparison.Ordinal))
            .Where(e => e.RoutePattern.RawText is not ("/dashboard/login" or "/dashboard/assets/{name}"))
            .Where(e => e.Metadata.GetMetadata<HttpMethodMetadata>() is not null)
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(m =>
                (m, e.RoutePattern.RawText!.Replace("{id:long}", "1", StringComparison.Ordinal))));

    /// <summary>Pages of Hangfire's dashboard (mapped as one endpoint, /dashboard/jobs/{**path}) and the Confirmations page added to it.</summary>
    private static readonly string[] JobsPages = ["/dashboard/jobs", "/dashboard/jobs/recurring", "/dashboard/jobs/jobs/succeeded", "/dashboard/jobs/jobs/failed", "/dashboard/jobs/servers", "/dashboard/jobs/confirmations"];

    private const string PauseStripe = "/dashboard/jobs/confirmations/pause/watch:stripe";

    /// <summary>Finished runs of the Stripe watcher.</summary>
    private async Task<int> RunsAsync() =>
        (await new AisaClient(_factory.CreateClient()).SendAsync(HttpMethod.Get, "/api/operator/jobs?job=watch:stripe&limit=200", headers: AisaClient.Operator()))
            .Body.GetProperty("runs").EnumerateArray().Count(r => r.GetProperty("outcome").GetString() != "running");

    /// <summary>Runs of the Stripe watcher still going.</summary>
    private async Task<int> RunningAsync() =>
        (await new AisaClient(_factory.CreateClient()).SendAsync(HttpMethod.Get, "/api/operator/jobs?job=watch:stripe&outcome=running", headers: AisaClient.Operator()))
            .Body.GetProperty("runs").GetArrayLength();

    private async Task WaitForRunsAsync(int atLeast, string what)
    {
        var deadline = DateTime.UtcNow + EvmWatch.Patience;
        while (await RunsAsync() < atLeast)
        {
            Assert.True(DateTime.UtcNow < deadline, $"No {what} within {EvmWatch.Patience.TotalSeconds} s.");
            await Task.Delay(200);
        }
    }

    /// <summary>The Stripe watcher as the Confirmations page shows it.</summary>
    private static async Task<System.Text.Json.JsonElement> WatcherAsync(HttpClient operatorClient) =>
        System.Text.Json.JsonDocument.Parse(await operatorClient.GetStringAsync(new Uri("/dashboard/api/confirmations", UriKind.Relative))).RootElement
            .GetProperty("watchers").EnumerateArray().Single(w => w.GetProperty("job").GetString() == "watch:stripe");

    [Fact]
    public async Task Every_page_and_json_endpoint_refuses_a_caller_without_the_operator_login_and_does_nothing()
    {
        var routes = DashboardRoutes().ToList();
        Assert.Contains(("GET", "/dashboard/api/deposits"), routes);
        Assert.Contains(("GET", "/dashboard/api/confirmations"), routes);
        var anonymous = OperatorLogin.Anonymous(_factory);
        var csrf = await OperatorLogin.CsrfAsync(anonymous, "/dashboard/login");

        var requests = routes.Where(r => r.Path != "/dashboard/logout")
            .Concat(JobsPages.Select(page => ("GET", page)))
            .Concat([("POST", PauseStripe), ("POST", "/dashboard/jobs/recurring/trigger")]);
        foreach (var (method, path) in requests)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative))
            {
                Content = method == "POST" ? new FormUrlEncodedContent([new("__csrf", csrf), new("jobs[]", "watch:stripe")]) : null,
            };
            using var response = await anonymous.SendAsync(request);
            if (path.StartsWith("/dashboard/api", StringComparison.Ordinal))
            {
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path}: {response.StatusCode}");
            }
            else
            {
                Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"{method} {path}: {response.StatusCode}");
                Assert.StartsWith("/dashboard/login", response.Headers.Location!.AbsolutePath, StringComparison.Ordinal);
            }
        }
        // The anonymous pause did nothing: the watcher keeps running.
        await WaitForRunsAsync(await RunsAsync() + 2, "runs after the refused pause");

        // A wrong key is refused and sets no cookie that opens anything.
        var wrong = await OperatorLogin.PostFormAsync(anonymous, "/dashboard/login", csrf, ("key", "not-the-operator-key"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/dashboard/api/overview", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await anonymous.GetAsync(new Uri("/dashboard/jobs", UriKind.Relative))).StatusCode);
        // The operator API's header key does not open the dashboard either.
        using var withHeader = new HttpRequestMessage(HttpMethod.Get, new Uri("/dashboard/api/overview", UriKind.Relative));
        withHeader.Headers.Add("X-AISA-Operator-Key", SettlementFactory.OperatorKey);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(withHeader)).StatusCode);
    }

    [Fact]
    public async Task Logged_in_every_page_answers_and_an_action_without_its_antiforgery_token_is_refused()
    {
        var operatorClient = await OperatorLogin.LoggedInAsync(_factory);
        foreach (var (_, path) in DashboardRoutes().Where(r => r.Method == "GET"))
        {
            using var response = await operatorClient.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, $"{path}: {response.StatusCode}");
            if (path.StartsWith("/dashboard/api", StringComparison.Ordinal))
            {
                Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            }
        }
        foreach (var page in JobsPages)
        {
            var html = await operatorClient.GetStringAsync(new Uri(page, UriKind.Relative));
            // Inside Hangfire's chrome, with the Confirmations page in its navigation and the way back to the console.
            Assert.Contains("href=\"/dashboard/jobs/confirmations\"", html, StringComparison.Ordinal);
            Assert.Contains("href=\"/dashboard\"", html, StringComparison.Ordinal);
            // Its footer does not say where the database is.
            Assert.DoesNotContain(_store.DatabaseName, html, StringComparison.Ordinal);
        }

        // A filter that names no state is refused, not dropped.
        var badFilter = await operatorClient.GetAsync(new Uri("/dashboard/api/deposits?state=confirmed", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, badFilter.StatusCode);
        Assert.Contains("state is one of pending", await badFilter.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var noToken = await OperatorLogin.PostHangfireAsync(operatorClient, PauseStripe, null);
        var wrongToken = await OperatorLogin.PostHangfireAsync(operatorClient, PauseStripe, "CfDJ8-not-a-token");
        // A token from another session (another operator's browser) is refused too.
        var otherSession = await OperatorLogin.HangfireTokenAsync(await OperatorLogin.LoggedInAsync(_factory), "/dashboard/jobs/confirmations");
        var stolen = await OperatorLogin.PostHangfireAsync(operatorClient, PauseStripe, otherSession);
        // Hangfire's own actions ("Trigger now") are checked alike.
        var trigger = await OperatorLogin.PostHangfireAsync(operatorClient, "/dashboard/jobs/recurring/trigger", null, ("jobs[]", "watch:stripe"));

        Assert.All([noToken, wrongToken, stolen, trigger], r => Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode));
        await WaitForRunsAsync(await RunsAsync() + 2, "runs after the refused pauses");
        Assert.False((await WatcherAsync(operatorClient)).GetProperty("paused").GetBoolean());

        // This instance is among Hangfire's servers.
        var servers = await operatorClient.GetStringAsync(new Uri("/dashboard/jobs/servers", UriKind.Relative));
        Assert.Contains($":{Environment.ProcessId}:", servers, StringComparison.Ordinal);
        // Each job run logs under its own correlation id.
        var runLine = _logs.Entries.First(e => e.Scopes.ContainsKey("JobRunId") && e.Scopes.GetValueOrDefault("Job") == "watch:stripe");
        Assert.Equal($"job-run-{runLine.Scopes["JobRunId"]}", runLine.Scopes["CorrelationId"]);
        Assert.Contains("watch:stripe", runLine.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pause_stops_the_watcher_on_schedule_run_now_still_runs_it_once_and_resume_starts_it_again()
    {
        var operatorClient = await OperatorLogin.LoggedInAsync(_factory);
        var token = await OperatorLogin.HangfireTokenAsync(operatorClient, "/dashboard/jobs/confirmations");

        Assert.Equal(HttpStatusCode.NoContent, (await OperatorLogin.PostHangfireAsync(operatorClient, PauseStripe, token)).StatusCode);
        Assert.True((await WatcherAsync(operatorClient)).GetProperty("paused").GetBoolean());
        // A run that had started before the pause ends first.
        var deadline = DateTime.UtcNow + EvmWatch.Patience;
        while (await RunningAsync() > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "A run started before the pause never ended.");
            await Task.Delay(100);
        }
        var atPause = await RunsAsync();
        await Task.Delay(3000);
        Assert.Equal(atPause, await RunsAsync());
        // Hangfire's own "Trigger now" honours the pause: its tick runs no pass.
        Assert.Equal(HttpStatusCode.NoContent, (await OperatorLogin.PostHangfireAsync(operatorClient, "/dashboard/jobs/recurring/trigger", token, ("jobs[]", "watch:stripe"))).StatusCode);

        var run = await OperatorLogin.PostHangfireAsync(operatorClient, "/dashboard/jobs/confirmations/run/watch:stripe", token);
        Assert.Equal(HttpStatusCode.NoContent, run.StatusCode);
        await WaitForRunsAsync(atPause + 1, "manual run");
        await Task.Delay(2500);
        Assert.Equal(atPause + 1, await RunsAsync());
        Assert.True((await WatcherAsync(operatorClient)).GetProperty("paused").GetBoolean());

        Assert.Equal(HttpStatusCode.NoContent, (await OperatorLogin.PostHangfireAsync(operatorClient, "/dashboard/jobs/confirmations/resume/watch:stripe", token)).StatusCode);
        await WaitForRunsAsync(atPause + 3, "runs after resume");
        var unknown = await OperatorLogin.PostHangfireAsync(operatorClient, "/dashboard/jobs/confirmations/run/watch:nowhere", token);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Logging_out_ends_the_session()
    {
        var operatorClient = await OperatorLogin.LoggedInAsync(_factory);
        Assert.Equal(HttpStatusCode.OK, (await operatorClient.GetAsync(new Uri("/dashboard/api/overview", UriKind.Relative))).StatusCode);

        var csrf = await OperatorLogin.CsrfAsync(operatorClient, "/dashboard");
        Assert.Equal(HttpStatusCode.Redirect, (await OperatorLogin.PostFormAsync(operatorClient, "/dashboard/logout", csrf)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await operatorClient.GetAsync(new Uri("/dashboard/api/overview", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_paid_session_naming_no_deposit_is_held_in_suspense_as_unattributed_and_an_operator_assigns_it_once()
    {
        var client = new AisaClient(_factory.CreateClient());
        var agent = await client.RegisterAgentAsync();
        var other = await client.RegisterAgentAsync();
        // The operators hear of money that named nobody; the agent, of the credit once it is assigned to it.
        await using var operatorHook = await Notifications.WebhookReceiver.StartAsync();
        await using var agentHook = await Notifications.WebhookReceiver.StartAsync();
        Assert.Equal(200, (await client.SendAsync(HttpMethod.Put, "/api/operator/webhook", operatorHook.Registration, AisaClient.Operator())).Code);
        Assert.Equal(200, (await client.SendAsync(HttpMethod.Put, "/api/agent/webhook", agentHook.Registration, AisaClient.Bearer(agent.SessionToken))).Code);
        var session = _stripe.CreateOrphanSession(750, "987654");
        _stripe.Pay(session);
        var payload = _stripe.Event("checkout.session.completed", session);
        var signature = await Aisa.Settlement.Testing.FakeStripe.SignAsync(payload, "whsec_dashboard_tests");
        for (var i = 0; i < 2; i++)
        {
            using var delivery = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/webhooks/stripe", UriKind.Relative)) { Content = new StringContent(payload) };
            delivery.Headers.Add("Stripe-Signature", signature);
            Assert.Equal(HttpStatusCode.OK, (await client.Http.SendAsync(delivery)).StatusCode);
        }

        var held = Assert.Single((await client.SendAsync(HttpMethod.Get, "/api/operator/deposits?state=unattributed", headers: AisaClient.Operator())).Body.GetProperty("deposits").EnumerateArray());
        var id = held.GetProperty("deposit").GetProperty("id").GetInt64();
        Assert.Equal(7.5m, held.GetProperty("deposit").GetProperty("amount").GetDecimal());
        Assert.False(held.TryGetProperty("agentId", out var owner) && owner.ValueKind != System.Text.Json.JsonValueKind.Null, "an unattributed deposit has no agent");
        Assert.Equal(7.5m, await SuspenseAsync(client));
        Assert.Equal(0m, await client.BalanceAsync(agent.SessionToken));

        var operatorClient = await OperatorLogin.LoggedInAsync(_factory);
        var page = $"/dashboard/deposits/{id}";
        Assert.Contains("Assign to an agent", await operatorClient.GetStringAsync(new Uri(page, UriKind.Relative)), StringComparison.Ordinal);
        var csrf = await OperatorLogin.CsrfAsync(operatorClient, page);
        var assign = page + "/assign";
        Assert.Equal(HttpStatusCode.BadRequest, (await OperatorLogin.PostFormAsync(operatorClient, assign, null, ("agentId", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await OperatorLogin.PostFormAsync(operatorClient, assign, csrf, ("agentId", "99999999"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await OperatorLogin.PostFormAsync(operatorClient, assign, csrf, ("agentId", "agent-1"))).StatusCode);
        Assert.Equal(7.5m, await SuspenseAsync(client));

        var assigned = await OperatorLogin.PostFormAsync(operatorClient, assign, csrf, ("agentId", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        Assert.Equal(HttpStatusCode.Redirect, assigned.StatusCode);
        Assert.Equal(7.5m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(0m, await SuspenseAsync(client));
        var credited = (await client.SendAsync(HttpMethod.Get, $"/api/operator/deposits/{id}", headers: AisaClient.Operator())).Body;
        Assert.Equal("credited", credited.GetProperty("deposit").GetProperty("state").GetString());
        Assert.Equal(agent.Id, credited.GetProperty("agentId").GetInt64());
        Assert.Equal(["unattributed", "credited"], credited.GetProperty("transitions").EnumerateArray().Select(t => t.GetProperty("to").GetString()!));
        // Once: again, or to another agent, moves nothing.
        Assert.Equal(HttpStatusCode.Conflict, (await OperatorLogin.PostFormAsync(operatorClient, assign, csrf, ("agentId", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await OperatorLogin.PostFormAsync(operatorClient, assign, csrf, ("agentId", other.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)))).StatusCode);
        Assert.Equal(7.5m, await client.BalanceAsync(agent.SessionToken));
        Assert.Equal(0m, await client.BalanceAsync(other.SessionToken));
        var unattributed = Assert.Single(await operatorHook.WaitForAsync(t => t.Count >= 1, "deposit.unattributed"));
        Assert.Equal("deposit.unattributed", unattributed.Event);
        Assert.Equal(id, unattributed.Data.GetProperty("depositId").GetInt64());
        Assert.Equal(7.5m, unattributed.Data.GetProperty("amount").GetDecimal());
        var creditNotice = Assert.Single(await agentHook.WaitForAsync(t => t.Count >= 1, "deposit.credited"));
        Assert.Equal("deposit.credited", creditNotice.Event);
        Assert.Equal(id, creditNotice.Data.GetProperty("depositId").GetInt64());
        Assert.Equal(7.5m, creditNotice.Data.GetProperty("balance").GetDecimal());
        // Once, though the assignment was tried three times.
        Assert.Equal(1, (await client.SendAsync(HttpMethod.Get, "/api/agent/webhook/deliveries", headers: AisaClient.Bearer(agent.SessionToken))).Body.GetProperty("deliveries").GetArrayLength());
        var operatorLog = await client.SendAsync(HttpMethod.Get, "/api/operator/webhook/deliveries", headers: AisaClient.Operator());
        Assert.Equal("deposit.unattributed", Assert.Single(operatorLog.Body.GetProperty("deliveries").EnumerateArray()).GetProperty("type").GetString());
        var audit = await client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    private static async Task<decimal> SuspenseAsync(AisaClient client) =>
        (await client.AuditAsync()).GetProperty("accounts").EnumerateArray().Single(a => a.GetProperty("code").GetString() == "suspense").GetProperty("derivedBalance").GetDecimal();

    [Theory]
    [InlineData("/dashboard/jobs/confirmations", "/dashboard/jobs/confirmations")]
    [InlineData("/dashboard", "/dashboard")]
    [InlineData("https://evil.example/dashboard", "/dashboard")]
    [InlineData("//evil.example/dashboard", "/dashboard")]
    [InlineData("/\\evil.example", "/dashboard")]
    [InlineData("/dashboardevil", "/dashboard")]
    [InlineData("/api/operator/jobs", "/dashboard")]
    [InlineData("", "/dashboard")]
    public void After_login_the_dashboard_returns_only_to_its_own_pages(string returnUrl, string expected) =>
        Assert.Equal(expected, Aisa.Settlement.Api.Dashboard.DashboardAuth.LocalDashboardPath(returnUrl));
}
