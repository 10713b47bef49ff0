using Aisa.Settlement.Api.Jobs;
using Aisa.Settlement.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Aisa.Settlement.Api.Tests.Jobs;

/// <summary>
/// An instance killed while it held a recurring job's Hangfire lock leaves the lock row behind; Hangfire takes it over
/// only once it is <see cref="JobEngine.LockTimeout"/> old, later than it waits for a lock. The next start waits that out.
/// </summary>
public sealed class DeadLockHolderTests
{
    [Fact]
    public async Task A_start_after_an_instance_died_holding_recurring_job_locks_waits_for_them_to_expire_and_starts()
    {
        await using var store = await TestStore.CreateAsync(StorageOptions.Postgres);
        string[] jobs;
        await using (var first = new SettlementFactory(store))
        {
            first.CreateClient().Dispose();
            jobs = [.. first.Services.GetRequiredService<RecurringJobs>().Jobs.Select(j => j.Name)];
        }
        // What a killed holder leaves: a lock row for every recurring job, taken 30 s before the lock expires, under the name
        // Hangfire's PostgreSQL storage gives it (measured: its schema, then Hangfire's own "lock:recurring-job:<id>").
        var taken = DateTime.UtcNow - JobEngine.LockTimeout + TimeSpan.FromSeconds(30);
        await using (var connection = new NpgsqlConnection(store.ConnectionString))
        {
            await connection.OpenAsync();
            foreach (var resource in jobs.Select(job => $"{JobEngine.Schema}:lock:recurring-job:{job}"))
            {
                await using var plant = new NpgsqlCommand($"INSERT INTO \"{JobEngine.Schema}\".lock (resource, updatecount, acquired) VALUES (@resource, 0, @acquired)", connection);
                plant.Parameters.AddWithValue("resource", resource);
                plant.Parameters.AddWithValue("acquired", taken);
                await plant.ExecuteNonQueryAsync();
            }
        }

        await using var second = new SettlementFactory(store);
        using var client = second.CreateClient();
        var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));

        Assert.True(jobs.Length > 0);
        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
        await using var check = new NpgsqlConnection(store.ConnectionString);
        await check.OpenAsync();
        await using var left = new NpgsqlCommand($"SELECT count(*) FROM \"{JobEngine.Schema}\".lock WHERE acquired < @after", check);
        left.Parameters.AddWithValue("after", taken + TimeSpan.FromSeconds(1));
        // Every lock the dead holder left was taken over, used and given back.
        Assert.Equal(0L, Convert.ToInt64(await left.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
    }
}
