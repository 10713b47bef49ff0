using System.Data.Common;
using System.Globalization;
using System.Reflection;

namespace Aisa.Settlement.Storage;

/// <summary>
/// What differs between SQLite and PostgreSQL, and nothing else: connections, how a write transaction
/// begins, how a unique violation looks, and the migration scripts. The SQL of the stores is shared.
/// </summary>
public abstract class SqlDatabase : IDatabase, IAsyncDisposable
{
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    public abstract string Provider { get; }

    public abstract string Target { get; }

    /// <summary>The statements of a ledger group commit, as this database runs them best.</summary>
    public virtual Ledger.LedgerStatements LedgerStatements { get; } = new();

    /// <summary>Opens a connection ready for use; wraps a failure to connect in <see cref="StorageUnavailableException"/>.</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = CreateConnection();
        try
        {
            await connection.OpenAsync(cancellationToken);
            await OnOpenedAsync(connection, cancellationToken);
            return connection;
        }
        catch (Exception e) when (e is DbException or System.Net.Sockets.SocketException or TimeoutException or InvalidOperationException or IOException)
        {
            await connection.DisposeAsync();
            throw new StorageUnavailableException(DescribeConnectFailure(e), e);
        }
    }

    /// <summary>
    /// A transaction for writes. SQLite takes the write lock at once (BEGIN IMMEDIATE) so two writers never
    /// deadlock on a lock upgrade; PostgreSQL uses READ COMMITTED with row locks and conditional updates.
    /// </summary>
    public abstract ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>A read-only transaction that sees one consistent snapshot of the whole database.</summary>
    public abstract ValueTask<DbTransaction> BeginSnapshotAsync(DbConnection connection, CancellationToken cancellationToken);

    public abstract bool IsUniqueViolation(DbException exception);

    /// <summary>A conflict the database resolved by aborting us (deadlock, serialization failure): safe to retry whole.</summary>
    public abstract bool IsTransient(DbException exception);

    protected abstract DbConnection CreateConnection();

    protected virtual Task OnOpenedAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    protected abstract string DescribeConnectFailure(Exception exception);

    /// <summary>
    /// Holds the lock named <paramref name="key"/> until <paramref name="transaction"/> ends, so the writers that take it
    /// commit one after another, also across instances (SQLite's BEGIN IMMEDIATE already holds its only write lock).
    /// </summary>
    public abstract Task LockUntilCommitAsync(DbConnection connection, DbTransaction transaction, long key, CancellationToken cancellationToken);

    /// <summary>The keys of <see cref="LockUntilCommitAsync"/>: any constants, one per kind of writer.</summary>
    public static class Locks
    {
        /// <summary>Migrations of instances starting at the same time.</summary>
        public const long Migrations = 0x41495341_0001;

        /// <summary>New deposit addresses: their ids become visible in id order, so a watcher reading "after id n" misses none.</summary>
        public const long DepositAddresses = 0x41495341_0002;

        /// <summary>The job engine's schema (Hangfire's), installed by one instance at a time.</summary>
        public const long JobEngineSchema = 0x41495341_0003;
    }

    protected abstract string CreateSchemaVersionTableSql { get; }

    /// <summary>Before the migrations' transaction begins, on the connection that runs them.</summary>
    protected virtual Task BeginMigratingAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Inside the migrations' transaction, just before it commits: throw to roll every migration back.</summary>
    protected virtual Task CheckMigratedAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>After the migrations' transaction ended, committed or not.</summary>
    protected virtual Task EndMigratingAsync(DbConnection connection) => Task.CompletedTask;

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        try
        {
            await command.ExecuteScalarAsync(cancellationToken);
        }
        catch (DbException e)
        {
            throw new StorageUnavailableException(DescribeConnectFailure(e), e);
        }
    }

    public async Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    public Task<int> MigrateAsync(CancellationToken cancellationToken) => MigrateAsync(int.MaxValue, cancellationToken);

    /// <summary>Up to <paramref name="version"/> only: for the tests of a migration's handling of the data before it.</summary>
    internal async Task<int> MigrateAsync(int version, CancellationToken cancellationToken)
    {
        try
        {
            return await MigrateCoreAsync(version, cancellationToken);
        }
        catch (DbException e)
        {
            throw new StorageUnavailableException($"Cannot create or upgrade the schema of the {Provider} database at {Target}: {OneLine(e.Message)}", e);
        }
    }

    /// <summary>A driver's message as one line without its closing full stop, for "…: reason. What to check."</summary>
    protected static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim().TrimEnd('.');

    private async Task<int> MigrateCoreAsync(int version, CancellationToken cancellationToken)
    {
        var migrations = LoadMigrations().Where(m => m.Version <= version).ToList();
        await using var connection = await OpenAsync(cancellationToken);
        await BeginMigratingAsync(connection, cancellationToken);
        try
        {
            return await MigrateAsync(connection, migrations, cancellationToken);
        }
        finally
        {
            await EndMigratingAsync(connection);
        }
    }

    private async Task<int> MigrateAsync(DbConnection connection, List<Migration> migrations, CancellationToken cancellationToken)
    {
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        await LockUntilCommitAsync(connection, transaction, Locks.Migrations, cancellationToken);
        await ExecuteAsync(connection, transaction, CreateSchemaVersionTableSql, cancellationToken);
        var current = Convert.ToInt32(
            await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_version", cancellationToken),
            CultureInfo.InvariantCulture);
        if (current > migrations[^1].Version)
        {
            throw new StorageUnavailableException(
                $"The {Provider} database at {Target} has schema version {current}, newer than this build knows ({migrations[^1].Version}): run a newer build.");
        }
        foreach (var migration in migrations.Where(m => m.Version > current))
        {
            await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
            await using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_version (version, name, applied_at) VALUES (@version, @name, @appliedAt)";
            record.AddParameter("version", migration.Version);
            record.AddParameter("name", migration.Name);
            record.AddParameter("appliedAt", DateTimeOffset.UtcNow);
            await record.ExecuteNonQueryAsync(cancellationToken);
            current = migration.Version;
        }
        await CheckMigratedAsync(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return current;
    }

    private sealed record Migration(int Version, string Name, string Sql);

    private List<Migration> LoadMigrations()
    {
        var assembly = typeof(SqlDatabase).Assembly;
        var prefix = MigrationFolder + "/";
        var migrations = assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(".sql", StringComparison.Ordinal))
            .Select(name =>
            {
                var file = name[prefix.Length..^".sql".Length];
                var version = int.Parse(file[..file.IndexOf('_', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
                return new Migration(version, file, ReadResource(assembly, name));
            })
            .OrderBy(m => m.Version)
            .ToList();
        if (migrations.Count == 0 || migrations.Select(m => m.Version).Distinct().Count() != migrations.Count)
        {
            throw new InvalidOperationException($"The {Provider} migrations are missing or numbered twice.");
        }
        return migrations;
    }

    protected abstract string MigrationFolder { get; }

    private static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken);
    }
}

public static class DbCommandExtensions
{
    public static DbCommand AddParameter(this DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return command;
    }

    public static async Task<int> ExecuteAsync(this DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.CreateCommand(transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static DbCommand CreateCommand(this DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.AddParameter(name, value);
        }
        return command;
    }

    /// <summary>
    /// Deletes the rows of <paramref name="table"/> that meet <paramref name="condition"/>, 10,000 at a time (named by
    /// their <paramref name="keyColumns"/>), so a large purge never holds one long transaction; returns how many.
    /// </summary>
    public static async Task<int> DeleteInBatchesAsync(this DbConnection connection, string table, string keyColumns, string condition, CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters)
    {
        const int Batch = 10_000;
        var deleted = 0;
        while (true)
        {
            var removed = await connection.ExecuteAsync(null,
                $"DELETE FROM {table} WHERE ({keyColumns}) IN (SELECT {keyColumns} FROM {table} WHERE {condition} LIMIT {Batch})", cancellationToken, parameters);
            deleted += removed;
            if (removed < Batch)
            {
                return deleted;
            }
        }
    }

    public static long? GetNullableInt64(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    public static string? GetNullableString(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static DateTimeOffset GetTimestamp(this DbDataReader reader, int ordinal) =>
        reader.GetFieldValue<DateTimeOffset>(ordinal).ToUniversalTime();
}
