using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Aisa.Settlement.Api.Tests;

/// <summary>The real service in process, on a fresh database of the given provider.</summary>
public sealed class SettlementFactory : WebApplicationFactory<Program>
{
    private readonly string _provider;
    private readonly string _connectionString;
    private readonly string? _sqliteDirectory;

    private SettlementFactory(string provider, string connectionString, string? sqliteDirectory)
    {
        _provider = provider;
        _connectionString = connectionString;
        _sqliteDirectory = sqliteDirectory;
    }

    public static Task<SettlementFactory> CreateAsync(string provider) => provider switch
    {
        StorageOptions.Postgres => CreatePostgresAsync(),
        _ => Task.FromResult(CreateSqlite()),
    };

    private static SettlementFactory CreateSqlite()
    {
        var directory = Directory.CreateTempSubdirectory("aisa-api-").FullName;
        return new SettlementFactory(StorageOptions.Sqlite, $"Data Source={Path.Combine(directory, "aisa.db")}", directory);
    }

    private static async Task<SettlementFactory> CreatePostgresAsync() =>
        new(StorageOptions.Postgres, await TestPostgres.CreateDatabaseAsync("api"), null);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Storage:Provider", _provider);
        builder.UseSetting("Storage:ConnectionString", _connectionString);
        builder.UseSetting("Operator:ApiKey", OperatorKey);
        builder.UseEnvironment("Testing");
    }

    /// <summary>The name of this factory's own database (file or PostgreSQL database), as the service reports it.</summary>
    public string DatabaseName => _provider == StorageOptions.Postgres
        ? new Npgsql.NpgsqlConnectionStringBuilder(_connectionString).Database!
        : new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(_connectionString).DataSource;

    public const string OperatorKey = "test-operator-key-0123456789";

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_provider == StorageOptions.Postgres)
        {
            await TestPostgres.DropDatabaseAsync(_connectionString);
        }
        else if (_sqliteDirectory is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_sqliteDirectory, recursive: true);
        }
    }
}
