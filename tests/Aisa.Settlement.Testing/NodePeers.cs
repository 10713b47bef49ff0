using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Aisa.Settlement.Testing;

/// <summary>
/// The npm peers in tests/peers (ethers, ganache, solc), installed by scripts/test.sh. Missing peers fail the
/// test with what to run; they never skip it.
/// </summary>
public static class NodePeers
{
    public static string Directory { get; } = Path.Combine(RepositoryPaths.Root, "tests", "peers");

    public static string NodeModules => System.IO.Directory.Exists(Path.Combine(Directory, "node_modules"))
        ? Path.Combine(Directory, "node_modules")
        : throw new InvalidOperationException($"The npm test peers are not installed: run scripts/test.sh, or npm ci in {Directory}.");

    /// <summary>Runs a script of tests/peers with node and returns its standard output; a non-zero exit throws with its error output.</summary>
    public static async Task<string> RunAsync(string script, params string[] arguments)
    {
        _ = NodeModules;
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(Directory, script));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0
            ? await output
            : throw new InvalidOperationException($"node {script} exited with {process.ExitCode}: {await error}");
    }

    /// <summary>
    /// Starts a server script of tests/peers on a free port (its last argument) and waits for its <c>listening &lt;url&gt;</c>
    /// line; a script that exits or says nothing else in a minute throws with its error output.
    /// </summary>
    public static async Task<(Process Process, Uri Url)> StartServerAsync(string script, string name, params string[] arguments)
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        _ = NodeModules;
        var start = new ProcessStartInfo("node") { WorkingDirectory = Directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(Directory, script));
        foreach (var argument in arguments.Append(port.ToString(CultureInfo.InvariantCulture)))
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (line is null || !line.StartsWith("listening ", StringComparison.Ordinal))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"The {name} did not start: " + await process.StandardError.ReadToEndAsync());
        }
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        return (process, new Uri(line["listening ".Length..]));
    }
}
