namespace Aisa.Settlement.Storage;

public sealed class StorageOptions
{
    public const string Section = "Storage";
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";
    public const string DefaultSqliteConnectionString = "Data Source=aisa.db";

    /// <summary><c>sqlite</c> (default, embedded) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = Sqlite;

    /// <summary>For SQLite defaults to <c>Data Source=aisa.db</c> in the working directory; required for PostgreSQL.</summary>
    public string? ConnectionString { get; set; }

    public IEnumerable<string> Validate()
    {
        if (Provider is not (Sqlite or Postgres))
        {
            yield return $"Storage:Provider must be '{Sqlite}' or '{Postgres}', not '{Provider}'.";
            yield break;
        }
        if (Provider == Postgres && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return "Storage:ConnectionString is required when Storage:Provider is 'postgres' (e.g. Host=127.0.0.1;Username=aisa;Database=aisa).";
        }
        string? problem = null;
        try
        {
            _ = Provider == Postgres
                ? new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString).ConnectionString
                : new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(ConnectionString ?? DefaultSqliteConnectionString).ConnectionString;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            // The builder's message can quote the string, password included: say only what is wrong with it.
            problem = $"Storage:ConnectionString is not a valid {Provider} connection string ({e.GetType().Name}).";
        }
        if (problem is not null)
        {
            yield return problem;
        }
    }
}
