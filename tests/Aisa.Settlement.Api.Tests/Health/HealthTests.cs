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
        var description = body.GetProperty("checks").GetProperty("database").GetProperty("description").GetString();
        Assert.StartsWith(provider + " at ", description, StringComparison.Ordinal);
        Assert.Contains(_store.DatabaseName, description, StringComparison.Ordinal);
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
