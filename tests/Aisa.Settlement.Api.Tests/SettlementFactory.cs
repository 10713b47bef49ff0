using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Api.Tests;

/// <summary>A fresh database of one provider, which one or several service instances can share.</summary>
public sealed class TestStore : IAsyncDisposable
{
    private readonly string? _sqliteDirectory;

    private TestStore(string provider, string connectionString, string? sqliteDirectory)
    {
        Provider = provider;
        ConnectionString = connectionString;
        _sqliteDirectory = sqliteDirectory;
    }

    public string Provider { get; }

    public string ConnectionString { get; }

    /// <summary>The name of the database (file or PostgreSQL database), as the service reports it.</summary>
    public string DatabaseName => Provider == StorageOptions.Postgres
        ? new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString).Database!
        : new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(ConnectionString).DataSource;

    public static async Task<TestStore> CreateAsync(string provider)
    {
        if (provider == StorageOptions.Postgres)
        {
            return new TestStore(provider, await TestPostgres.CreateDatabaseAsync("api"), null);
        }
        var directory = Directory.CreateTempSubdirectory("aisa-api-").FullName;
        return new TestStore(provider, $"Data Source={Path.Combine(directory, "aisa.db")}", directory);
    }

    public async ValueTask DisposeAsync()
    {
        if (Provider == StorageOptions.Postgres)
        {
            await TestPostgres.DropDatabaseAsync(ConnectionString);
        }
        else if (_sqliteDirectory is not null)
        {
            // A connection closing just now (a stopping service's last write) can remove or add its -wal and -shm
            // files while the directory is emptied: try again shortly rather than fail the test that used it.
            for (var attempt = 1; ; attempt++)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                try
                {
                    Directory.Delete(_sqliteDirectory, recursive: true);
                    return;
                }
                catch (IOException) when (attempt < 20)
                {
                    await Task.Delay(100);
                }
            }
        }
    }
}

/// <summary>The real service, listening on a real loopback port (Kestrel), on a test store.</summary>
public sealed class SettlementFactory : WebApplicationFactory<Program>
{
    public const string OperatorKey = "test-operator-key-0123456789";

    private readonly TestStore _store;
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly Action<IServiceCollection>? _services;
    private readonly string _environment;

    /// <param name="environment">The host environment: Testing, unless a test is about what only Development allows.</param>
    public SettlementFactory(TestStore store, IReadOnlyDictionary<string, string>? settings = null, Action<IServiceCollection>? services = null, string environment = "Testing")
    {
        _store = store;
        _environment = environment;
        _settings = settings ?? new Dictionary<string, string>();
        _services = services;
        UseKestrel(0);
        StartServer();
    }

    public TestStore Store => _store;

    /// <summary>Where the service listens (a real loopback port), for clients that are not this factory's: a browser, a cookie-keeping client.</summary>
    public Uri Url => new(Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
        .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First());

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Storage:Provider", _store.Provider);
        builder.UseSetting("Storage:ConnectionString", _store.ConnectionString);
        builder.UseSetting("Operator:ApiKey", OperatorKey);
        builder.UseSetting("RateLimits:AuthPerMinute", "100000");
        // Publishers are taken at their word unless a test is about domain proof.
        builder.UseSetting("Publishers:DomainVerification", "none");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
        builder.UseEnvironment(_environment);
        if (_services is not null)
        {
            builder.ConfigureTestServices(_services);
        }
    }
}
