using Aisa.Settlement.Api.Configuration;
using Aisa.Settlement.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aisa.Settlement.Api.Tests.Startup;

public sealed class ConfigurationTests
{
    [Fact]
    public void The_example_settings_file_holds_only_settings_the_service_knows_and_accepts()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(RepositoryPaths.Root, "appsettings.example.json"), optional: false)
            .Build();

        var problems = SettlementConfiguration.BindAndValidate(configuration, new ServiceCollection(), out var settings);

        Assert.Empty(problems);
        Assert.Equal("sqlite", settings.Storage.Provider);
    }

    [Fact]
    public void Nothing_configured_means_SQLite_in_the_working_directory()
    {
        var problems = SettlementConfiguration.BindAndValidate(new ConfigurationBuilder().Build(), new ServiceCollection(), out var settings);

        Assert.Empty(problems);
        Assert.Equal("sqlite", settings.Storage.Provider);
        Assert.Null(settings.Storage.ConnectionString);
    }
}
