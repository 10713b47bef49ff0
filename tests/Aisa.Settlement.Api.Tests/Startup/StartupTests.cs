using System.Net;
using System.Text.RegularExpressions;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Startup;

/// <summary>The built service started as a real process, as the README's run command starts it.</summary>
public sealed partial class StartupTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("aisa-startup-").FullName;

    private static string ServiceAssembly => RepositoryPaths.ProjectAssembly("src", "Aisa.Settlement.Api");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private ChildProcess Start(Dictionary<string, string> environment) =>
        ChildProcess.StartDotnet(ServiceAssembly, _directory, environment, "--urls", "http://127.0.0.1:0");

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();

    [Fact]
    public async Task With_nothing_configured_it_starts_on_SQLite_in_the_working_directory()
    {
        using var service = Start([]);
        string? address = null;
        while (address is null && service.ReadLine(TimeSpan.FromSeconds(60)) is { } line)
        {
            address = ListeningOn().Match(line) is { Success: true } match ? match.Groups[1].Value : null;
        }
        Assert.True(address is not null, "The service did not start: " + string.Join(" | ", service.StandardError));

        using var http = new HttpClient { BaseAddress = new Uri(address) };
        var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.True(File.Exists(Path.Combine(_directory, "aisa.db")));
        Assert.Contains(service.StandardOutput, line => line.Contains("sqlite at " + Path.Combine(_directory, "aisa.db"), StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unreachable_PostgreSQL_stops_start_up_with_one_clear_line_and_no_secret()
    {
        using var service = Start(new()
        {
            ["Storage__Provider"] = "postgres",
            ["Storage__ConnectionString"] = "Host=127.0.0.1;Port=1;Username=aisa;Password=hunter2-secret;Database=aisa;Timeout=5",
        });

        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, exitCode);
        var error = Assert.Single(service.StandardError, line => line.Length > 0);
        Assert.StartsWith("aisa: Cannot reach PostgreSQL at 127.0.0.1:1/aisa:", error, StringComparison.Ordinal);
        AssertNoStackTraceOrSecret(service, "hunter2-secret");
    }

    [Fact]
    public async Task An_unwritable_SQLite_path_stops_start_up_with_one_clear_line()
    {
        // A path under a regular file can be created by nobody, root included (CI runs as root).
        var file = Path.Combine(_directory, "not-a-directory");
        await File.WriteAllTextAsync(file, "");
        using var service = Start(new() { ["Storage__ConnectionString"] = $"Data Source={file}/aisa.db" });

        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, exitCode);
        var error = Assert.Single(service.StandardError, line => line.Length > 0);
        Assert.StartsWith($"aisa: Cannot open the SQLite database at {file}/aisa.db:", error, StringComparison.Ordinal);
        AssertNoStackTraceOrSecret(service, null);
    }

    [Theory]
    [InlineData("Storage__Provider", "mysql", "Storage:Provider must be 'sqlite' or 'postgres'")]
    [InlineData("Storage__Provider", "postgres", "Storage:ConnectionString is required")]
    [InlineData("Platform__RevenueShareBps", "12000", "Platform:RevenueShareBps must be between 0 and 10000")]
    [InlineData("Platform__RevenueShareBps", "ten", "Platform:RevenueShareBps")]
    [InlineData("Platform__MinTopUp", "0.0000001", "Platform:MinTopUp must be a positive USD amount")]
    [InlineData("Operator__ApiKey", "short", "Operator:ApiKey must be at least 16 characters")]
    [InlineData("Storage__Provder", "sqlite", "Storage:Provder is not a setting")]
    [InlineData("Rails__Sandbox__Enabled", "true", "Rails:Sandbox:Enabled is for the Development environment only")]
    public async Task A_bad_configuration_value_stops_start_up_naming_the_key(string variable, string value, string expected)
    {
        using var service = Start(new() { [variable] = value });

        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, exitCode);
        var error = Assert.Single(service.StandardError, line => line.Length > 0);
        Assert.StartsWith("aisa: invalid configuration: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        AssertNoStackTraceOrSecret(service, null);
        Assert.False(File.Exists(Path.Combine(_directory, "aisa.db")), "A refused start-up must not create a database.");
    }

    [Fact]
    public async Task The_sandbox_rail_outside_Development_stops_start_up_with_exit_code_2()
    {
        using var service = Start(new() { ["ASPNETCORE_ENVIRONMENT"] = "Staging", ["Rails__Sandbox__Enabled"] = "true" });

        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Equal("aisa: invalid configuration: Rails:Sandbox:Enabled is for the Development environment only: its top-ups credit without money.",
            Assert.Single(service.StandardError, line => line.Length > 0));
    }

    [Fact]
    public async Task In_Development_the_console_log_is_plain_text_and_elsewhere_JSON()
    {
        string plain;
        List<string> developmentOutput;
        // As published: the appsettings files beside the service.
        var contentRoot = Path.GetDirectoryName(ServiceAssembly)!;
        using (var development = Start(new() { ["ASPNETCORE_ENVIRONMENT"] = "Development", ["ASPNETCORE_CONTENTROOT"] = contentRoot, ["Rails__Sandbox__Enabled"] = "true" }))
        {
            plain = ListeningLine(development);
            developmentOutput = [.. development.StandardOutput];
        }
        using var production = Start(new() { ["ASPNETCORE_CONTENTROOT"] = contentRoot });
        var json = ListeningLine(production);

        // One line per entry, "<time> info: <category>[<event>] <message>".
        Assert.Matches(@"^\d\d:\d\d:\d\d info: Microsoft\.Hosting\.Lifetime\[14\] Now listening on: ", plain);
        Assert.Contains(developmentOutput, line => line.Contains("Rails: sandbox", StringComparison.Ordinal));
        Assert.StartsWith("{", json.TrimStart(), StringComparison.Ordinal);
    }

    private static string ListeningLine(ChildProcess service)
    {
        while (service.ReadLine(TimeSpan.FromSeconds(60)) is { } line)
        {
            if (ListeningOn().IsMatch(line))
            {
                return line;
            }
        }
        throw new Xunit.Sdk.XunitException("The service did not start: " + string.Join(" | ", service.StandardError));
    }

    private static void AssertNoStackTraceOrSecret(ChildProcess service, string? secret)
    {
        var everything = service.StandardOutput.Concat(service.StandardError).ToList();
        Assert.DoesNotContain(everything, line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.DoesNotContain(everything, line => line.Contains("Exception", StringComparison.Ordinal));
        if (secret is not null)
        {
            Assert.DoesNotContain(everything, line => line.Contains(secret, StringComparison.Ordinal));
        }
    }
}
