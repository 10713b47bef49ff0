// One Solana watcher pass over many finalized signatures of the treasury's token account, some of them deposits, on the real
// Solana runtime (LiteSVM behind tests/peers/solana-node.mjs) and the real service (Release build, SQLite): RPC calls, time and
// memory of the pass, and how soon after finality a deposit is credited. Run by bench/solana-watcher.sh.
// Usage: Aisa.Settlement.Bench.Solana <service dll> <signatures> <deposits> <agents>
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aisa.Settlement.Testing;

if (args is not [var serviceDll, var signaturesText, var depositsText, var agentsText])
{
    Console.Error.WriteLine("usage: Aisa.Settlement.Bench.Solana <service dll> <signatures> <deposits> <agents>");
    return 2;
}
var signatures = int.Parse(signaturesText, CultureInfo.InvariantCulture);
var deposits = int.Parse(depositsText, CultureInfo.InvariantCulture);
var agentCount = int.Parse(agentsText, CultureInfo.InvariantCulture);
const string OperatorKey = "bench-operator-key-0123456789";
const int PollSeconds = 15;
const long Amount = 1_000_000;

await using var node = await SolanaNode.StartAsync();
var treasury = await node.SetupAsync();
var payer = await node.PayerAsync(treasury, 1_000_000_000_000);

var directory = Directory.CreateTempSubdirectory("aisa-solana-bench-").FullName;
var environment = new Dictionary<string, string>
{
    ["Storage__Provider"] = "sqlite",
    ["Storage__ConnectionString"] = $"Data Source={Path.Combine(directory, "aisa.db")}",
    ["Operator__ApiKey"] = OperatorKey,
    ["RateLimits__AuthPerMinute"] = "100000",
    ["Logging__LogLevel__Default"] = "Warning",
    ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
    ["ASPNETCORE_ENVIRONMENT"] = "Production",
    ["Rails__Solana__RpcUrls__0"] = node.Url.ToString(),
    ["Rails__Solana__TreasuryOwner"] = treasury.Owner,
    ["Rails__Solana__UsdcMint"] = treasury.Mint,
    ["Rails__Solana__PollIntervalSeconds"] = PollSeconds.ToString(CultureInfo.InvariantCulture),
    ["Rails__Solana__MaxSignaturesPerPass"] = signatures.ToString(CultureInfo.InvariantCulture),
};
using var service = StartService(environment, directory, out var url);
using var http = new HttpClient { BaseAddress = new Uri(url) };
http.DefaultRequestHeaders.Add("X-AISA-Operator-Key", OperatorKey);
var idleRss = Memory(service.Id, "VmRSS");

// The agents, through the API, with their own references.
var references = new List<string>();
for (var i = 0; i < agentCount; i++)
{
    var registered = await PostAsync("/api/agent/auth/register", new { email = $"bench{i}@example.com", password = "bench-password-1", name = $"bench {i}" });
    var session = registered["token"]!.GetValue<string>();
    using var request = new HttpRequestMessage(HttpMethod.Get, "/api/agent/deposit-addresses");
    request.Headers.Add("Authorization", "Bearer " + session);
    using var response = await http.SendAsync(request);
    var addresses = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["addresses"]!.AsArray();
    references.Add(addresses.Single(a => a!["rail"]!.GetValue<string>() == "solana")!["reference"]!.GetValue<string>());
}
var first = await WaitForRunAsync(0);

// The chain: every transaction lands while nothing is final; then all of it becomes final at once, for one pass to read.
var clock = Stopwatch.StartNew();
await node.SetLagsAsync(1_000_000, 1_000_000);
await node.MixAsync(payer, treasury, references, deposits, signatures - deposits, Amount);
await node.SetLagsAsync(1, SolanaNode.FinalizedLag);
await node.FinalizeAsync();
Console.WriteLine($"chain: {signatures} transactions on the treasury's token account ({deposits} deposits to {agentCount} agents), built in {clock.Elapsed.TotalSeconds:0.0} s");

var after = first["id"]!.GetValue<long>();
JsonNode pass;
do
{
    pass = await WaitForRunAsync(after);
    after = pass["id"]!.GetValue<long>();
}
while ((pass["summary"]!["transactionsRead"]?.GetValue<long>() ?? 0) == 0);
var summary = pass["summary"]!;
var passSeconds = (pass["endedAt"]!.GetValue<DateTimeOffset>() - pass["startedAt"]!.GetValue<DateTimeOffset>()).TotalSeconds;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"pass {passSeconds:0.00} s: signatures listed {summary["signaturesListed"]}, transactions read {summary["transactionsRead"]}, deposits credited {summary["credited"]?.GetValue<int>() ?? 0}, rpc calls {summary["rpcCalls"]}, " +
    $"allocated {summary["allocatedBytes"]!.GetValue<long>() / 1048576.0:0} MB; service RSS peak {Memory(service.Id, "VmHWM") / 1024.0:0} MB (idle {idleRss / 1024.0:0} MB)"));

// Latency: a deposit becomes final at a random moment of the poll cycle; how long until it is credited?
var random = new Random(42);
var latencies = new List<double>();
for (var round = 0; round < 3; round++)
{
    var amount = 7_000_000 + round;
    await node.TransferAsync(payer, treasury, new SolanaTransfer(treasury.Owner, amount, Reference: references[round % references.Count]));
    await Task.Delay(TimeSpan.FromSeconds(random.NextDouble() * PollSeconds));
    await node.FinalizeAsync();
    var finalizedAt = DateTimeOffset.UtcNow;
    latencies.Add((await WaitForCreditAsync(amount) - finalizedAt).TotalSeconds);
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"credited after finality: {string.Join(", ", latencies.Select(l => l.ToString("0.0", CultureInfo.InvariantCulture)))} s (poll interval {PollSeconds} s; target ≤ {PollSeconds + 1} s)"));
service.KillHard();
Directory.Delete(directory, recursive: true);
return 0;

async Task<JsonNode> PostAsync(string path, object body)
{
    using var response = await http.PostAsJsonAsync(path, body);
    var text = await response.Content.ReadAsStringAsync();
    return response.IsSuccessStatusCode ? JsonNode.Parse(text)! : throw new InvalidOperationException($"{path}: {text}");
}

ChildProcess StartService(Dictionary<string, string> environment, string directory, out string url)
{
    var started = ChildProcess.StartDotnet(serviceDll, directory, environment, "--urls", "http://127.0.0.1:0");
    string? address = null;
    while (address is null && started.ReadLine(TimeSpan.FromSeconds(120)) is { } line)
    {
        address = Regex.Match(line, @"Now listening on: (http://127\.0\.0\.1:\d+)") is { Success: true } match ? match.Groups[1].Value : null;
    }
    url = address ?? throw new InvalidOperationException("The service did not start: " + string.Join(" | ", started.StandardError));
    return started;
}

async Task<JsonNode> WaitForRunAsync(long afterId)
{
    while (true)
    {
        var runs = JsonNode.Parse(await http.GetStringAsync(new Uri("/api/operator/jobs?job=watch:solana&limit=5", UriKind.Relative)))!["runs"]!.AsArray();
        if (runs.FirstOrDefault(r => r!["id"]!.GetValue<long>() > afterId && r["outcome"]!.GetValue<string>() != "running") is { } run)
        {
            return run["outcome"]!.GetValue<string>() == "succeeded" ? run : throw new InvalidOperationException("The pass failed: " + run.ToJsonString());
        }
        await Task.Delay(100);
    }
}

async Task<DateTimeOffset> WaitForCreditAsync(long micros)
{
    while (true)
    {
        var list = JsonNode.Parse(await http.GetStringAsync(new Uri("/api/operator/deposits?rail=solana&state=credited&limit=5", UriKind.Relative)))!["deposits"]!.AsArray();
        if (list.FirstOrDefault(d => d!["deposit"]!["amount"]!.GetValue<decimal>() * 1_000_000m == micros) is { } found)
        {
            return found["deposit"]!["updatedAt"]!.GetValue<DateTimeOffset>();
        }
        await Task.Delay(100);
    }
}

static long Memory(int pid, string field) =>
    long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
