using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Aisa.Settlement.Storage;

public sealed class SqliteDatabase : SqlDatabase
{
    private const int SqliteConstraint = 19;
    private const int SqliteConstraintUnique = 2067;
    private const int SqliteConstraintPrimaryKey = 1555;

    private readonly string _connectionString;
    private int _walEnsured;

    public SqliteDatabase(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString)
        {
            ForeignKeys = true,
            // Writers queue on SQLite's single write lock; wait for it rather than fail.
            DefaultTimeout = 60,
        };
        if (string.IsNullOrWhiteSpace(builder.DataSource))
        {
            throw new ArgumentException("The SQLite connection string names no Data Source.", nameof(connectionString));
        }
        if (builder.DataSource != ":memory:" && builder.Mode != SqliteOpenMode.Memory)
        {
            builder.DataSource = Path.GetFullPath(builder.DataSource);
        }
        _connectionString = builder.ToString();
        Target = builder.DataSource;
    }

    public override string Provider => "sqlite";

    public override string Target { get; }

    protected override string MigrationFolder => "Sqlite";

    protected override string CreateSchemaVersionTableSql =>
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

    protected override DbConnection CreateConnection() => new SqliteConnection(_connectionString);

    protected override async Task OnOpenedAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        // WAL lets readers (the audit, the dashboard) run beside the writer. The mode is stored in the file,
        // so it is set once per process; synchronous stays FULL (the default): a commit is on disk.
        if (Interlocked.Exchange(ref _walEnsured, 1) == 0)
        {
            await connection.ExecuteAsync(null, "PRAGMA journal_mode=WAL", cancellationToken);
        }
    }

    public override async ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // deferred: false is BEGIN IMMEDIATE: the write lock is taken now, so two writers never deadlock upgrading.
        await Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    public override async ValueTask<DbTransaction> BeginSnapshotAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: true));

    public override bool IsUniqueViolation(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: SqliteConstraint, SqliteExtendedErrorCode: SqliteConstraintUnique or SqliteConstraintPrimaryKey };

    public override bool IsTransient(DbException exception) => false;

    public override Task LockUntilCommitAsync(DbConnection connection, DbTransaction transaction, long key, CancellationToken cancellationToken) =>
        // BEGIN IMMEDIATE already holds the database's only write lock.
        Task.CompletedTask;

    // A migration that rebuilds a table (SQLite cannot drop a CHECK) runs with foreign keys off, as SQLite's ALTER TABLE
    // documentation prescribes; the pragma cannot change inside a transaction. Every reference is checked before commit.
    protected override async Task BeginMigratingAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(null, "PRAGMA foreign_keys = OFF", cancellationToken);

    protected override async Task CheckMigratedAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand(transaction, "PRAGMA foreign_key_check");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (await reader.ReadAsync(cancellationToken))
        {
            throw new StorageUnavailableException(
                $"A migration of the SQLite database at {Target} left a row of {reader.GetString(0)} referring to a missing row of {reader.GetString(2)}: nothing was changed.");
        }
    }

    protected override async Task EndMigratingAsync(DbConnection connection) =>
        await connection.ExecuteAsync(null, "PRAGMA foreign_keys = ON", CancellationToken.None);

    protected override string DescribeConnectFailure(Exception exception) =>
        $"Cannot open the SQLite database at {Target}: {OneLine(exception is SqliteException sqlite ? sqlite.Message.Replace("SQLite Error ", "error ", StringComparison.Ordinal) : exception.Message)}. " +
        "Check Storage:ConnectionString and that its directory exists and is writable.";
}
