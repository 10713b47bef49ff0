using System.Net;
using Aisa.Settlement.Api.Tests.Rails;
using Aisa.Settlement.Storage;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Api.Tests.Dashboard;

/// <summary>The dashboard's login, its refusals without it, its antiforgery checks, and its job controls (on the Stripe watcher, against the fake Stripe API).</summary>
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

    /// <summary>Every dashboard route the service maps, with its parameters filled in; the login form and the static assets excepted.</summary>
    private IEnumerable<(string Method, string Path)> DashboardRoutes() =>
        _factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/dashboard", StringComparison.Ordinal))
            .Where(e => e.RoutePattern.RawText is not ("/dashboard/login" or "/dashboard/assets/{name}"))
            .SelectMany(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()!.HttpMethods.Select(m =>
                (m, e.RoutePattern.RawText!.Replace("{id:long}", "1", StringComparison.Ordinal).Replace("{name}", "watch:stripe", StringComparison.Ordinal))));

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

    [Fact]
    public async Task Every_page_and_json_endpoint_refuses_a_caller_without_the_operator_login_and_does_nothing()
    {
        var routes = DashboardRoutes().ToList();
        Assert.Contains(("GET", "/dashboard/api/deposits"), routes);
        Assert.Contains(("POST", "/dashboard/jobs/watch:stripe/pause"), routes);
        var anonymous = OperatorLogin.Anonymous(_factory);
        var csrf = await OperatorLogin.CsrfAsync(anonymous, "/dashboard/login");

        foreach (var (method, path) in routes.Where(r => r.Path != "/dashboard/logout"))
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative))
            {
                Content = method == "POST" ? new FormUrlEncodedContent([new("__csrf", csrf)]) : null,
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

        // A filter that names no state is refused, not dropped.
        var badFilter = await operatorClient.GetAsync(new Uri("/dashboard/api/deposits?state=confirmed", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, badFilter.StatusCode);
        Assert.Contains("state is one of pending", await badFilter.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var noToken = await OperatorLogin.PostFormAsync(operatorClient, "/dashboard/jobs/watch:stripe/pause", null);
        var wrongToken = await OperatorLogin.PostFormAsync(operatorClient, "/dashboard/jobs/watch:stripe/pause", "CfDJ8-not-a-token");
        // A token from another session (another operator's browser) is refused too.
        var otherSession = await OperatorLogin.CsrfAsync(await OperatorLogin.LoggedInAsync(_factory), "/dashboard/jobs");
        var stolen = await OperatorLogin.PostFormAsync(operatorClient, "/dashboard/jobs/watch:stripe/pause", otherSession);

        Assert.All([noToken, wrongToken, stolen], r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode));
        await WaitForRunsAsync(await RunsAsync() + 2, "runs after the refused pauses");
        var jobsPage = await operatorClient.GetStringAsync(new Uri("/dashboard/jobs", UriKind.Relative));
        Assert.DoesNotContain(">paused<", jobsPage, StringComparison.Ordinal);

        // This instance is listed with its heartbeat and the watcher whose lease it holds.
        var instances = await operatorClient.GetStringAsync(new Uri("/dashboard/instances", UriKind.Relative));
        Assert.Matches("\\(this one\\).*</td>.*watch:stripe", instances.ReplaceLineEndings(""));
        // Each job run logs under its own correlation id.
        var runLine = _logs.Entries.First(e => e.Scopes.ContainsKey("JobRunId") && e.Scopes.GetValueOrDefault("Job") == "watch:stripe");
        Assert.Equal($"job-run-{runLine.Scopes["JobRunId"]}", runLine.Scopes["CorrelationId"]);
        Assert.Contains("watch:stripe", runLine.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pause_stops_the_watcher_on_schedule_run_now_still_runs_it_once_and_resume_starts_it_again()
    {
        var operatorClient = await OperatorLogin.LoggedInAsync(_factory);
        var csrf = await OperatorLogin.CsrfAsync(operatorClient, "/dashboard/jobs");

        var paused = await OperatorLogin.PostFormAsync(operatorClient, "/dashboard/jobs/watch:stripe/pause", csrf);
        Assert.Equal(HttpStatusCode.Redirect, paused.StatusCode);
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
        Assert.Contains(">paused<", await operatorClient.GetStringAsync(new Uri("/dashboard/jobs", UriKind.Relative)), StringComparison.Ordinal);

        var run = await OperatorLogin.PostFormAsync(operatorClient, "/dashboard/jobs/watch:stripe/run", csrf);
        Assert.Equal(HttpStatusCode.Redirect, run.StatusCode);
        await WaitForRunsAsync(atPause + 1, "manual run");
        await Task.Delay(2500);
        Assert.Equal(atPause + 1, await RunsAsync());

        Assert.Equal(HttpStatusCode.Redirect, (await OperatorLogin.PostFormAsync(operatorClient, "/dashboard/jobs/watch:stripe/resume", csrf)).StatusCode);
        await WaitForRunsAsync(atPause + 3, "runs after resume");
        var unknown = await OperatorLogin.PostFormAsync(operatorClient, "/dashboard/jobs/watch:nowhere/run", csrf);
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
        var session = _stripe.CreateOrphanSession(750, "987654");
        _stripe.Pay(session);
        var payload = _stripe.Event("checkout.session.completed", session);
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, payload);
        var signature = await Aisa.Settlement.Testing.NodePeers.RunAsync("stripe-sign.mjs", file, "whsec_dashboard_tests");
        File.Delete(file);
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
        var audit = await client.AuditAsync();
        Assert.True(audit.GetProperty("balanced").GetBoolean(), audit.ToString());
    }

    private static async Task<decimal> SuspenseAsync(AisaClient client) =>
        (await client.AuditAsync()).GetProperty("accounts").EnumerateArray().Single(a => a.GetProperty("code").GetString() == "suspense").GetProperty("derivedBalance").GetDecimal();

    [Theory]
    [InlineData("/dashboard/jobs?job=watch:stripe", "/dashboard/jobs?job=watch:stripe")]
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
