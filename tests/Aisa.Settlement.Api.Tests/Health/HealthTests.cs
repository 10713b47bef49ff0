using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aisa.Settlement.Storage;

namespace Aisa.Settlement.Api.Tests.Health;

public abstract class HealthTests(string provider) : IAsyncLifetime
{
    private TestStore _store = null!;
    private SettlementFactory _factory = null!;

    public async Task InitializeAsync()
    {
        _store = await TestStore.CreateAsync(provider);
        _factory = new SettlementFactory(_store);
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _store.DisposeAsync();
    }

    [Fact]
    public async Task Healthz_answers_without_reading_anything_and_readyz_checks_the_configured_database_and_the_scheduler()
    {
        using var client = _factory.CreateClient();

        var live = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
        var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("healthy", (await live.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var body = await ready.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.Equal("ok", body.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
        // Anyone may ask: where the database lives is not said.
        Assert.DoesNotContain(_store.DatabaseName, body.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(provider, body.GetRawText(), StringComparison.Ordinal);
        Assert.Equal("ok", body.GetProperty("checks").GetProperty("scheduler").GetProperty("status").GetString());
    }

    [Fact]
    public async Task The_service_migrates_its_schema_on_start()
    {
        _ = _factory.CreateClient();
        var database = (IDatabase)_factory.Services.GetService(typeof(IDatabase))!;

        Assert.True(await database.GetSchemaVersionAsync(CancellationToken.None) >= 1);
    }
}

public sealed class SqliteHealthTests() : HealthTests(StorageOptions.Sqlite);

public sealed class PostgresHealthTests() : HealthTests(StorageOptions.Postgres);

/// <summary>The database gone: readiness says so to anyone, and what and where only to the operator.</summary>
public sealed class DatabaseDownTests() : ServiceTests(StorageOptions.Postgres)
{
    private async Task AllowConnectionsAsync(bool allow)
    {
        var name = Store.DatabaseName;
        await using var admin = new Npgsql.NpgsqlConnection(TestPostgres.AdminConnectionString);
        await admin.OpenAsync();
        await using (var alter = new Npgsql.NpgsqlCommand($"ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS {(allow ? "true" : "false")}", admin))
        {
            await alter.ExecuteNonQueryAsync();
        }
        if (!allow)
        {
            await using var terminate = new Npgsql.NpgsqlCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = @name AND pid <> pg_backend_pid()", admin);
            terminate.Parameters.AddWithValue("name", name);
            await terminate.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task With_the_database_down_readyz_says_failing_without_where_or_why_and_the_dashboard_tells_the_operator_both()
    {
        var operatorBrowser = await Dashboard.OperatorLogin.LoggedInAsync(Factory);
        await AllowConnectionsAsync(false);
        try
        {
            var ready = await Client.SendAsync(HttpMethod.Get, "/readyz");
            var overview = await operatorBrowser.GetStringAsync(new Uri("/dashboard", UriKind.Relative));

            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, ready.Status);
            Assert.Equal("failing", ready.Body.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
            Assert.DoesNotContain(Store.DatabaseName, ready.Raw, StringComparison.Ordinal);
            Assert.DoesNotContain("127.0.0.1", ready.Raw, StringComparison.Ordinal);
            Assert.DoesNotContain("connections", ready.Raw, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("not answering", overview, StringComparison.Ordinal);
            Assert.Contains(Store.DatabaseName, overview, StringComparison.Ordinal);
        }
        finally
        {
            await AllowConnectionsAsync(true);
        }
    }
}

public sealed class MetricsBehindTheOperatorKeyTests() : ServiceTests(StorageOptions.Sqlite)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["Metrics:RequireOperatorKey"] = "true" };

    [Fact]
    public async Task With_RequireOperatorKey_metrics_answer_only_the_operator()
    {
        var anonymous = await Client.SendAsync(HttpMethod.Get, "/metrics");
        var wrong = await Client.SendAsync(HttpMethod.Get, "/metrics", headers: new Dictionary<string, string> { ["X-AISA-Operator-Key"] = "wrong-key-0123456789" });
        var operatorScrape = await Client.SendAsync(HttpMethod.Get, "/metrics", headers: AisaClient.Operator());

        Assert.Equal((System.Net.HttpStatusCode.Unauthorized, "unauthorized"), (anonymous.Status, anonymous.Error));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Equal(System.Net.HttpStatusCode.OK, operatorScrape.Status);
        Assert.Contains("aisa_metrics_database_up 1", operatorScrape.Raw, StringComparison.Ordinal);
    }
}
