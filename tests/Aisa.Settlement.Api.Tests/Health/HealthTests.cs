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
    public async Task Healthz_checks_the_configured_database()
    {
        using var client = _factory.CreateClient();

        var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("healthy", body.GetProperty("status").GetString());
        var description = body.GetProperty("checks").GetProperty("database").GetProperty("description").GetString();
        Assert.StartsWith(provider + " at ", description, StringComparison.Ordinal);
        Assert.Contains(_store.DatabaseName, description, StringComparison.Ordinal);
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
