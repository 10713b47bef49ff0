using Aisa.Settlement.Api.Jobs;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Startup;

/// <summary>Hangfire's schema on PostgreSQL, installed by instances that start at the same time on an empty database.</summary>
public sealed class JobEngineSchemaTests
{
    [Fact]
    public async Task Instances_starting_at_once_install_the_job_engines_schema_one_at_a_time_and_all_start()
    {
        var connectionString = await TestPostgres.CreateDatabaseAsync("jobschema");
        try
        {
            var storage = new StorageOptions { Provider = StorageOptions.Postgres, ConnectionString = connectionString };

            // Hangfire's own installer fails when two run at once on an empty database (measured: XX000); ours take turns.
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => JobEngine.InstallAsync(storage, CancellationToken.None))));

            await using var connection = new Npgsql.NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var version = new Npgsql.NpgsqlCommand($"SELECT version FROM \"{JobEngine.Schema}\".schema", connection);
            Assert.True(Convert.ToInt32(await version.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) >= 20);
        }
        finally
        {
            await TestPostgres.DropDatabaseAsync(connectionString);
        }
    }
}
