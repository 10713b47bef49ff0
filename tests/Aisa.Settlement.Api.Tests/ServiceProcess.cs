using System.Text.RegularExpressions;

namespace Aisa.Settlement.Api.Tests;

/// <summary>The built service as a real process (it can be killed with SIGKILL: no shutdown, no lease given up), on a test store.</summary>
public static partial class ServiceProcess
{
    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();

    /// <summary>
    /// Starts the service with these settings (configuration keys, turned into environment variables) and waits until it
    /// listens; returns the process and its address.
    /// </summary>
    public static (ChildProcess Process, Uri Url) Start(TestStore store, string directory, IReadOnlyDictionary<string, string> settings)
    {
        var environment = settings.ToDictionary(p => p.Key.Replace(":", "__", StringComparison.Ordinal), p => p.Value);
        environment["Storage__Provider"] = store.Provider;
        environment["Storage__ConnectionString"] = store.ConnectionString;
        environment.TryAdd("Operator__ApiKey", SettlementFactory.OperatorKey);
        environment.TryAdd("RateLimits__AuthPerMinute", "100000");
        environment.TryAdd("Publishers__DomainVerification", "none");
        var service = ChildProcess.StartDotnet(RepositoryPaths.ProjectAssembly("src", "Aisa.Settlement.Api"), directory, environment, "--urls", "http://127.0.0.1:0");
        string? address = null;
        while (address is null && service.ReadLine(TimeSpan.FromSeconds(60)) is { } line)
        {
            address = ListeningOn().Match(line) is { Success: true } match ? match.Groups[1].Value : null;
        }
        if (address is null)
        {
            service.Dispose();
            throw new Xunit.Sdk.XunitException("The service did not start: " + string.Join(" | ", service.StandardError));
        }
        return (service, new Uri(address));
    }
}
