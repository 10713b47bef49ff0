using System.Data;
using System.Data.Common;
using Npgsql;

namespace Aisa.Settlement.Storage;

public sealed class PostgresDatabase : SqlDatabase
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresDatabase(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        Target = $"{builder.Host ?? "localhost"}:{builder.Port}/{builder.Database ?? builder.Username ?? "postgres"}";
        // The service never changes session state, so a pooled connection needs no DISCARD ALL on its return, and the
        // same few statements run all day: prepared once per connection, they skip parsing and planning.
        // Both are defaults: the connection string may say otherwise.
        if (!connectionString.Contains("No Reset On Close", StringComparison.OrdinalIgnoreCase))
        {
            builder.NoResetOnClose = true;
        }
        if (!connectionString.Contains("Max Auto Prepare", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxAutoPrepare = 32;
        }
        _dataSource = NpgsqlDataSource.Create(builder);
    }

    public override string Provider => "postgres";

    public override string Target { get; }

    public override Ledger.LedgerStatements LedgerStatements { get; } = new Ledger.PostgresLedgerStatements();

    protected override string MigrationFolder => "Postgres";

    protected override string CreateSchemaVersionTableSql =>
        "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)";

    protected override DbConnection CreateConnection() => _dataSource.CreateConnection();

    public override async ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);

    public override async ValueTask<DbTransaction> BeginSnapshotAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);

    public override bool IsUniqueViolation(DbException exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    public override bool IsTransient(DbException exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure };

    public override async Task LockUntilCommitAsync(DbConnection connection, DbTransaction transaction, long key, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(transaction, "SELECT pg_advisory_xact_lock(@key)", cancellationToken, ("key", key));

    protected override string DescribeConnectFailure(Exception exception)
    {
        var reason = exception switch
        {
            PostgresException postgres => postgres.MessageText,
            NpgsqlException { InnerException: { } inner } => inner.Message,
            _ => exception.Message,
        };
        return $"Cannot reach PostgreSQL at {Target}: {OneLine(reason)}. Check Storage:ConnectionString and that the server is running.";
    }

    public override async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await base.DisposeAsync();
    }
}
