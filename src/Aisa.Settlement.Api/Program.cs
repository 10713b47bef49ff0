using Aisa.Settlement.Api.Configuration;
using Aisa.Settlement.Api.Health;
using Aisa.Settlement.Storage;

var builder = WebApplication.CreateBuilder(args);

var problems = SettlementConfiguration.BindAndValidate(builder.Configuration, builder.Services, out var storage);
if (problems.Count > 0)
{
    await Console.Error.WriteLineAsync("aisa: invalid configuration: " + string.Join(" ", problems));
    return 2;
}

builder.Services.AddSettlementStorage(storage);
builder.Services.AddSettlementHealth();

var app = builder.Build();
app.MapHealthApi();

try
{
    var database = app.Services.GetRequiredService<IDatabase>();
    var version = await database.MigrateAsync(app.Lifetime.ApplicationStopping);
    app.Logger.LogInformation("Storage: {Provider} at {Target}, schema version {Version}", database.Provider, database.Target, version);
}
catch (StorageUnavailableException e)
{
    await Console.Error.WriteLineAsync("aisa: " + e.Message);
    return 1;
}

await app.RunAsync();
return 0;

/// <summary>The entry point, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
