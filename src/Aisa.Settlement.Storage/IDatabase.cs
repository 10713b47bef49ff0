namespace Aisa.Settlement.Storage;

/// <summary>The database behind every store: SQLite (embedded default) or PostgreSQL.</summary>
public interface IDatabase
{
    /// <summary>"sqlite" or "postgres".</summary>
    string Provider { get; }

    /// <summary>Where the data lives, for messages and logs: never a password.</summary>
    string Target { get; }

    /// <summary>Creates or upgrades the schema to the version this build knows. Safe to run from several instances at once.</summary>
    Task<int> MigrateAsync(CancellationToken cancellationToken);

    Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken);

    /// <summary>A round trip to the database; throws <see cref="StorageUnavailableException"/> when it cannot be reached.</summary>
    Task PingAsync(CancellationToken cancellationToken);
}

/// <summary>The database cannot be reached or opened. The message is one line an operator can act on, without secrets.</summary>
public sealed class StorageUnavailableException(string message, Exception? innerException = null)
    : Exception(message, innerException);
