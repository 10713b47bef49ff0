using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Storage.Tests;

/// <summary>A fresh, empty database of each provider, for one test.</summary>
public interface ITestDatabase : IAsyncDisposable
{
    string Provider { get; }
    string ConnectionString { get; }
    SqlDatabase Open();
}

public sealed class SqliteTestDatabase : ITestDatabase
{
    private readonly string _directory = Directory.CreateTempSubdirectory("aisa-sqlite-").FullName;

    public string Provider => StorageOptions.Sqlite;

    public string ConnectionString => $"Data Source={Path.Combine(_directory, "aisa.db")}";

    public SqlDatabase Open() => new SqliteDatabase(ConnectionString);

    public ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}

public sealed class PostgresTestDatabase(string connectionString) : ITestDatabase
{
    public static async Task<PostgresTestDatabase> CreateAsync() => new(await TestPostgres.CreateDatabaseAsync("ledger"));

    public string Provider => StorageOptions.Postgres;

    public string ConnectionString { get; } = connectionString;

    public SqlDatabase Open() => new PostgresDatabase(ConnectionString);

    public async ValueTask DisposeAsync() => await TestPostgres.DropDatabaseAsync(ConnectionString);
}
