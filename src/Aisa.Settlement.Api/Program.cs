using Aisa.Settlement.Api;
using Aisa.Settlement.Api.Agents;
using Aisa.Settlement.Api.Configuration;
using Aisa.Settlement.Api.Dashboard;
using Aisa.Settlement.Api.Guard;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Jobs;
using Aisa.Settlement.Api.Notifications;
using Aisa.Settlement.Api.Observability;
using Aisa.Settlement.Api.Operator;
using Aisa.Settlement.Api.Payouts;
using Aisa.Settlement.Api.Publishers;
using Aisa.Settlement.Api.Rails;
using Aisa.Settlement.Api.Verify;
using Aisa.Settlement.Api.Web;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Storage.Ledger;
using Scalar.AspNetCore;

var builder = WebApplication.CreateBuilder(args);

var problems = SettlementConfiguration.BindAndValidate(builder.Configuration, builder.Services, out var settings, builder.Environment.IsDevelopment());
if (problems.Count > 0)
{
    await Console.Error.WriteLineAsync("aisa: invalid configuration: " + string.Join(" ", problems));
    return 2;
}

builder.Services.AddSettlement(settings);

var app = builder.Build();
// First: the client's address (the rate limiter's key) and scheme come from a configured proxy's headers, or from nothing.
app.UseConfiguredForwardedHeaders(settings.ForwardedHeaders);
app.UseCorrelationIds();
app.UseRateLimiter();
app.UseAuthentication();
app.UseAuthorization();
app.MapOpenApi();
// The API reference, from the same document; its script is served by the package itself, and no font is fetched from Scalar's CDN.
app.MapScalarApiReference("/docs", options => options.WithTitle("Aisa.Settlement API").WithOpenApiRoutePattern("/openapi/{documentName}.json").DisableDefaultFonts());
app.MapDashboard();
app.MapAgentWallet();
app.MapPublisherDashboard();
app.MapObservabilityApi();
app.MapAgentsApi();
app.MapGuardApi();
app.MapWebhookApi();
app.MapPublishersApi();
app.MapOperatorApi();
app.MapPayoutsApi();
app.MapVerifyApi();
app.MapDepositsApi();
app.MapAuthorizationTopUpApi();
app.MapWebhooksApi();

try
{
    var database = app.Services.GetRequiredService<IDatabase>();
    var version = await database.MigrateAsync(app.Lifetime.ApplicationStopping);
    await JobEngine.InstallAsync(settings.Storage, app.Lifetime.ApplicationStopping);
    await app.Services.GetRequiredService<SystemAccounts>().OpenAsync(app.Lifetime.ApplicationStopping);
    app.Logger.LogInformation("Storage: {Provider} at {Target}, schema version {Version}", database.Provider, database.Target, version);
    var backfilled = await app.Services.GetRequiredService<DepositAddressService>().BackfillAsync(app.Lifetime.ApplicationStopping);
    foreach (var (rail, earlierAddresses, earlierKeys) in await app.Services.GetRequiredService<DepositAddressService>().ChangedKeysAsync(app.Lifetime.ApplicationStopping))
    {
        app.Logger.LogWarning(
            "Rail {Rail}: its key (xpub) changed: {Addresses} deposit addresses derived from {Keys} earlier key(s) stay watched and still credit their agents; agents are handed addresses of the current key {KeyId} from now on",
            rail.Id, earlierAddresses, earlierKeys, rail.KeyId);
    }
    if (await WebhookSender.ResumeOverdueAsync(app.Services, app.Lifetime.ApplicationStopping) is > 0 and var resumed)
    {
        app.Logger.LogInformation("Webhooks: {Count} overdue deliveries queued again", resumed);
    }
    var rails = app.Services.GetRequiredService<IRailRegistry>().All;
    app.Logger.LogInformation("Rails: {Rails}; {Backfilled} deposit addresses added for rails configured since agents got theirs",
        rails.Count == 0 ? "none configured" : string.Join(", ", rails.Select(Describe)), backfilled);
}
catch (StorageUnavailableException e)
{
    await Console.Error.WriteLineAsync("aisa: " + e.Message);
    return 1;
}

await app.RunAsync();
return 0;

static string Describe(IRail rail) => rail.Finality.Kind switch
{
    FinalityKind.Depth => $"{rail.Id} ({rail.Finality.Required} confirmations{(rail is IRailWatcher watcher ? $", every {watcher.PollInterval.TotalSeconds:0} s" : "")})",
    FinalityKind.Commitment => $"{rail.Id} (at {rail.Finality.Commitment})",
    _ => $"{rail.Id} (final when settled)",
};

/// <summary>The entry point, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
