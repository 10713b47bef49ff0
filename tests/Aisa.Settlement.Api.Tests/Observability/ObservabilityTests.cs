using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Aisa.Settlement.Client;

namespace Aisa.Settlement.Api.Tests.Observability;

/// <summary>The OpenAPI document, the Prometheus metrics (read by an independent parser) and the correlation ids in the logs.</summary>
public abstract class ObservabilityTests(string provider) : IAsyncLifetime
{
    private readonly CapturedLogs _logs = new();
    private TestStore _store = null!;
    private SettlementFactory _factory = null!;
    private AisaClient _client = null!;

    public async Task InitializeAsync()
    {
        _store = await TestStore.CreateAsync(provider);
        _factory = new SettlementFactory(_store, new Dictionary<string, string> { ["Logging:LogLevel:Aisa.Settlement.Requests"] = "Debug" },
            services => services.AddSingleton<ILoggerProvider>(_logs));
        _client = new AisaClient(_factory.CreateClient());
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _store.DisposeAsync();
    }

    [Fact]
    public async Task Every_api_endpoint_the_service_maps_is_in_the_openapi_document_with_its_method()
    {
        var reply = await _client.SendAsync(HttpMethod.Get, "/openapi/v1.json");
        Assert.Equal(200, reply.Code);
        var paths = reply.Body.GetProperty("paths");
        var mapped = _factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<HttpMethodMetadata>() is not null)
            // The web apps' HTML pages and forms (the console's, the wallet's, the publisher's) are not an API; the document and its reference
            // page do not describe themselves.
            .Where(e => !(e.RoutePattern.RawText!.StartsWith("/dashboard", StringComparison.Ordinal) && !e.RoutePattern.RawText.StartsWith("/dashboard/api", StringComparison.Ordinal)))
            .Where(e => !e.RoutePattern.RawText!.StartsWith("/agent/", StringComparison.Ordinal) && !e.RoutePattern.RawText.StartsWith("/publisher/", StringComparison.Ordinal))
            .Where(e => !e.RoutePattern.RawText!.StartsWith("/openapi", StringComparison.Ordinal) && !e.RoutePattern.RawText.StartsWith("/docs", StringComparison.Ordinal))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(m => (Path: e.RoutePattern.RawText!, Method: m.ToLowerInvariant())))
            .ToList();

        Assert.True(mapped.Count > 25, $"only {mapped.Count} endpoints found");
        Assert.Contains(mapped, e => e.Path == "/api/v1/access/verify");
        Assert.Contains(mapped, e => e.Path == "/metrics");
        var missing = mapped.Where(e => !(paths.TryGetProperty(Normalize(e.Path), out var item) && item.TryGetProperty(e.Method, out _))).ToList();
        Assert.True(missing.Count == 0, "Not in /openapi/v1.json: " + string.Join(", ", missing.Select(m => $"{m.Method.ToUpperInvariant()} {m.Path}")));
    }

    // Route constraints ({id:long}) are not part of an OpenAPI path.
    private static string Normalize(string route) => System.Text.RegularExpressions.Regex.Replace(route, "\\{([^}:]+)(:[^}]+)?\\}", "{$1}");

    [Fact]
    public async Task The_metrics_parse_as_prometheus_text_and_count_what_verify_decided_and_charged()
    {
        var agent = await _client.RegisterAgentAsync();
        await _client.FundAsync(agent.Id, 0.05m);
        var (domain, publisherSession) = await _client.RegisterPublisherAsync();
        await _client.CreateRuleAsync(publisherSession, new NewRule("/", "pay", 0.04m));
        Assert.Equal(200, (await _client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/a", crawlerAutoPrice = true }, agent.CrawlerToken)).Code);
        Assert.Equal(402, (await _client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/b", crawlerAutoPrice = true }, agent.CrawlerToken)).Code);

        var response = await _client.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, await response.Content.ReadAsStringAsync());
        var families = JsonDocument.Parse(await NodePeers.RunAsync("prom-parse.mjs", file)).RootElement.EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!);
        File.Delete(file);

        foreach (var (name, family) in families)
        {
            Assert.Contains(family.GetProperty("type").GetString(), new[] { "COUNTER", "GAUGE", "HISTOGRAM", "SUMMARY" });
            foreach (var sample in family.GetProperty("metrics").EnumerateArray())
            {
                Assert.True(double.TryParse(sample.GetProperty("value").GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out _), $"{name}: {sample}");
            }
        }
        double Value(string name, string? status = null) => double.Parse(families[name].GetProperty("metrics").EnumerateArray()
            .Single(m => status is null || (m.TryGetProperty("labels", out var labels) && labels.GetProperty("status").GetString() == status))
            .GetProperty("value").GetString()!, CultureInfo.InvariantCulture);
        Assert.Equal(1, Value("aisa_verify_decisions_total", "200"));
        Assert.Equal(1, Value("aisa_verify_decisions_total", "402"));
        Assert.Equal(1, Value("aisa_charges_total"));
        Assert.Equal(40_000, Value("aisa_charged_micros_total"));
        Assert.Contains("aisa_deposits", families.Keys);
        Assert.Contains("aisa_job_runs_total", families.Keys);

        // The dashboard's chart counts the same charge in its minute.
        var operatorClient = await Dashboard.OperatorLogin.LoggedInAsync(_factory);
        var overview = JsonDocument.Parse(await operatorClient.GetStringAsync(new Uri("/dashboard/api/overview", UriKind.Relative))).RootElement;
        var minute = Assert.Single(overview.GetProperty("chargesPerMinute").EnumerateArray());
        Assert.Equal(1, minute.GetProperty("charges").GetInt64());
        Assert.Equal(0.04m, minute.GetProperty("amount").GetDecimal());
        Assert.InRange(DateTimeOffset.UtcNow - minute.GetProperty("minute").GetDateTimeOffset(), TimeSpan.Zero, TimeSpan.FromMinutes(5));
    }

    [Fact]
    public async Task The_metrics_are_still_served_when_the_database_cannot_be_read_and_say_so()
    {
        async Task<string> ScrapeAsync()
        {
            var response = await _client.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            return await response.Content.ReadAsStringAsync();
        }
        Assert.Contains("aisa_metrics_database_up 1", await ScrapeAsync(), StringComparison.Ordinal);
        var database = _factory.Services.GetRequiredService<SqlDatabase>();
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync(null, "ALTER TABLE deposits RENAME TO deposits_hidden", CancellationToken.None);
        }

        var scraped = await ScrapeAsync();

        Assert.Contains("aisa_metrics_database_up 0", scraped, StringComparison.Ordinal);
        Assert.Contains("aisa_charges_total", scraped, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_request_carries_a_correlation_id_into_its_log_lines_and_its_answer()
    {
        var sent = await _client.SendAsync(HttpMethod.Get, "/healthz", headers: new Dictionary<string, string> { ["X-Correlation-Id"] = "crawl-batch-7.req-42" });
        var unsafeId = await _client.SendAsync(HttpMethod.Get, "/healthz", headers: new Dictionary<string, string> { ["X-Correlation-Id"] = "has spaces <and> markup" });
        var none = await _client.SendAsync(HttpMethod.Get, "/readyz");

        Assert.Equal("crawl-batch-7.req-42", sent.Headers.GetValues("X-Correlation-Id").Single());
        var fresh = unsafeId.Headers.GetValues("X-Correlation-Id").Single();
        Assert.Matches("^[0-9a-f]{32}$", fresh);
        var generated = none.Headers.GetValues("X-Correlation-Id").Single();
        Assert.NotEqual(fresh, generated);
        Assert.Contains(_logs.Entries, e => e.Scopes.GetValueOrDefault("CorrelationId") == "crawl-batch-7.req-42" && e.Message.Contains("/healthz", StringComparison.Ordinal));
        Assert.Contains(_logs.Entries, e => e.Scopes.GetValueOrDefault("CorrelationId") == generated && e.Message.Contains("/readyz answered 200", StringComparison.Ordinal));
    }
}

public sealed class SqliteObservabilityTests() : ObservabilityTests(StorageOptions.Sqlite);

public sealed class PostgresObservabilityTests() : ObservabilityTests(StorageOptions.Postgres);

/// <summary>Log lines with the values of the scopes they were written in.</summary>
public sealed class CapturedLogs : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ConcurrentQueue<(string Category, string Message, Dictionary<string, string?> Scopes)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scopes = new Dictionary<string, string?>();
            owner._scopes.ForEachScope((scope, values) =>
            {
                if (scope is IEnumerable<KeyValuePair<string, object>> pairs)
                {
                    foreach (var (key, value) in pairs)
                    {
                        values[key] = value?.ToString();
                    }
                }
            }, scopes);
            owner.Entries.Enqueue((category, formatter(state, exception), scopes));
        }
    }
}
