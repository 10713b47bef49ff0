using Aisa.Settlement.Ledger;
using Aisa.Settlement.Storage.Ledger;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Aisa.Settlement.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>The database chosen by <see cref="StorageOptions"/>, and the stores on it.</summary>
    public static IServiceCollection AddSettlementStorage(this IServiceCollection services, StorageOptions options)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(CreateDatabase(options));
        services.AddSingleton<IDatabase>(sp => sp.GetRequiredService<SqlDatabase>());
        services.AddSingleton<ILedger, SqlLedger>();
        return services;
    }

    public static SqlDatabase CreateDatabase(StorageOptions options) => options.Provider switch
    {
        StorageOptions.Postgres => new PostgresDatabase(options.ConnectionString!),
        _ => new SqliteDatabase(options.ConnectionString ?? StorageOptions.DefaultSqliteConnectionString),
    };
}
