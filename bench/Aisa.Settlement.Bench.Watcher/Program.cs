// One EVM watcher pass over many blocks with many watched addresses, on a real local node (ganache) and the real
// service (Release build, SQLite): RPC calls, time and memory of the pass, and how soon after its N-th
// confirmation a deposit is credited. Run by bench/evm-watcher.sh.
// Usage: Aisa.Settlement.Bench.Watcher <service dll> <blocks> <watched addresses,…> <deposits>
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aisa.Settlement.Adapters.Evm.Addresses;
using Aisa.Settlement.Testing;
using Microsoft.Data.Sqlite;

if (args is not [var serviceDll, var blocksText, var watchedText, var depositsText])
{
    Console.Error.WriteLine("usage: Aisa.Settlement.Bench.Watcher <service dll> <blocks> <watched addresses,…> <deposits>");
    return 2;
}
var blocks = int.Parse(blocksText, CultureInfo.InvariantCulture);
var watchedCounts = watchedText.Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToList();
var deposits = int.Parse(depositsText, CultureInfo.InvariantCulture);
const string Xpub = "xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP";
const string OperatorKey = "bench-operator-key-0123456789";
const int Confirmations = 10;
const int PollSeconds = 15;
const int TransfersPerBusyBlock = 10;

await using var node = await Ganache.StartAsync(84532);
var token = await node.DeployTokenAsync(6);
var startBlock = await node.BlockNumberAsync() + 1;
var addresses = new DepositAddresses(ExtendedPublicKey.Parse(Xpub));
var minWatched = watchedCounts.Min();
// Deposits go to agents spread over the smallest watched set, so every run sees the same deposits.
var depositIndexes = Enumerable.Range(0, deposits).Select(i => (uint)((long)i * minWatched / deposits)).ToList();

// The chain: every (blocks / busy)-th block holds TransfersPerBusyBlock transfers, one of which is a deposit; the
// other transfers go to addresses nobody watches. The rest of the blocks are empty.
var clock = Stopwatch.StartNew();
await node.CallAsync("miner_stop");
var busyEvery = Math.Max(1, blocks / deposits);
var random = new Random(42);
var mined = 0;
var sent = 0;
while (mined < blocks)
{
    if (sent < deposits)
    {
        for (var t = 0; t < TransfersPerBusyBlock; t++)
        {
            var to = t == 0 ? addresses.At(depositIndexes[sent]).ToLowerHex() : "0x" + Convert.ToHexStringLower(RandomBytes(random, 20));
            await node.CallAsync("eth_sendTransaction", new JsonObject
            {
                ["from"] = Ganache.Payer, ["to"] = token, ["gas"] = "0x30000",
                ["data"] = "0xa9059cbb" + to[2..].PadLeft(64, '0') + (1_000_000 + sent).ToString("x", CultureInfo.InvariantCulture).PadLeft(64, '0'),
            });
        }
        sent++;
    }
    await node.CallAsync("evm_mine");
    mined++;
    var empty = Math.Min(busyEvery - 1, blocks - mined);
    if (empty > 0)
    {
        await node.MineAsync(empty);
        mined += empty;
    }
}
await node.MineAsync(Confirmations);
await node.CallAsync("miner_start");
var head = await node.BlockNumberAsync();
Console.WriteLine($"chain: {blocks} blocks from {startBlock}, {sent * TransfersPerBusyBlock} transfers ({sent} deposits), built in {clock.Elapsed.TotalSeconds:0.0} s");

foreach (var watched in watchedCounts)
{
    var directory = Directory.CreateTempSubdirectory("aisa-watch-bench-").FullName;
    var database = Path.Combine(directory, "aisa.db");
    var environment = new Dictionary<string, string>
    {
        ["Storage__Provider"] = "sqlite",
        ["Storage__ConnectionString"] = $"Data Source={database}",
        ["Operator__ApiKey"] = OperatorKey,
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
    };
    // First start: the schema. Then the agents, straight into the tables (registering 100,000 through the API would
    // measure password hashing), each with its derivation index: the service derives their addresses at start.
    long baselineRss;
    using (var schema = StartService(environment, directory, out _))
    {
        baselineRss = Memory(schema.Id, "VmRSS");
        schema.KillHard();
    }
    clock.Restart();
    SeedAgents(database, watched);
    var seeded = clock.Elapsed;

    environment["Rails__Evm__Chains__base__ChainId"] = "84532";
    environment["Rails__Evm__Chains__base__Xpub"] = Xpub;
    environment["Rails__Evm__Chains__base__Confirmations"] = Confirmations.ToString(CultureInfo.InvariantCulture);
    environment["Rails__Evm__Chains__base__PollIntervalSeconds"] = PollSeconds.ToString(CultureInfo.InvariantCulture);
    environment["Rails__Evm__Chains__base__StartBlock"] = startBlock.ToString(CultureInfo.InvariantCulture);
    environment["Rails__Evm__Chains__base__Tokens__0__Symbol"] = "USDC";
    environment["Rails__Evm__Chains__base__Tokens__0__Address"] = token;
    environment["Rails__Evm__Chains__base__Tokens__0__Decimals"] = "6";
    // A start against a node that does not answer: the service derives every agent's address (once), and no pass
    // succeeds. The next start then does nothing but the pass, so its memory is the pass's.
    environment["Rails__Evm__Chains__base__RpcUrls__0"] = "http://127.0.0.1:9/";
    clock.Restart();
    using (var deriving = StartService(environment, directory, out _))
    {
        deriving.KillHard();
    }
    var derived = clock.Elapsed;
    environment["Rails__Evm__Chains__base__RpcUrls__0"] = node.Url.ToString();
    using var service = StartService(environment, directory, out var url);
    using var http = new HttpClient { BaseAddress = new Uri(url) };
    http.DefaultRequestHeaders.Add("X-AISA-Operator-Key", OperatorKey);

    var pass = await WaitForRunAsync(http, 0);
    var summary = pass["summary"]!;
    var passSeconds = (pass["endedAt"]!.GetValue<DateTimeOffset>() - pass["startedAt"]!.GetValue<DateTimeOffset>()).TotalSeconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"watched {watched,7}: pass {passSeconds,6:0.00} s, rpc calls {summary["rpcCalls"]}, blocks {summary["blocksScanned"]}, logs read {summary["logsRead"]}, matched {summary["logsMatched"]}, credited {summary["credited"]?.GetValue<int>() ?? 0}, allocated {summary["allocatedBytes"]!.GetValue<long>() / 1048576.0:0} MB; " +
        $"service RSS peak {Memory(service.Id, "VmHWM") / 1024.0:0} MB (idle without rails {baselineRss / 1024.0:0} MB); seed {seeded.TotalSeconds:0.0} s, first start deriving the addresses {derived.TotalSeconds:0.0} s"));

    if (watched == watchedCounts[^1])
    {
        // Latency: a deposit's N-th confirmation is mined at a random moment of the poll cycle; how long until credited?
        var latencies = new List<double>();
        for (var round = 0; round < 3; round++)
        {
            await node.TransferAsync(token, addresses.At(depositIndexes[round]).ToLowerHex(), 5_000_000 + round);
            await Task.Delay(TimeSpan.FromSeconds(random.NextDouble() * PollSeconds));
            await node.MineAsync(Confirmations - 1);
            var confirmedAt = DateTimeOffset.UtcNow;
            var credited = await WaitForCreditAsync(http, 5_000_000 + round);
            latencies.Add((credited - confirmedAt).TotalSeconds);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"credited after the N-th confirmation: {string.Join(", ", latencies.Select(l => l.ToString("0.0", CultureInfo.InvariantCulture)))} s (poll interval {PollSeconds} s; target ≤ {PollSeconds + 1} s)"));
    }
    service.KillHard();
    SqliteConnection.ClearAllPools();
    Directory.Delete(directory, recursive: true);
}
return 0;

ChildProcess StartService(Dictionary<string, string> environment, string directory, out string url)
{
    var service = ChildProcess.StartDotnet(serviceDll, directory, environment, "--urls", "http://127.0.0.1:0");
    string? address = null;
    while (address is null && service.ReadLine(TimeSpan.FromSeconds(600)) is { } line)
    {
        address = Regex.Match(line, @"Now listening on: (http://127\.0\.0\.1:\d+)") is { Success: true } match ? match.Groups[1].Value : null;
    }
    url = address ?? throw new InvalidOperationException("The service did not start: " + string.Join(" | ", service.StandardError));
    return service;
}

static void SeedAgents(string database, int count)
{
    using var connection = new SqliteConnection($"Data Source={database}");
    connection.Open();
    using var transaction = connection.BeginTransaction();
    var now = DateTimeOffset.UtcNow;
    using var account = connection.CreateCommand();
    account.Transaction = transaction;
    account.CommandText = "INSERT INTO accounts (code, kind, constrained, balance, created_at) VALUES (@code, 'AgentWallet', 1, 0, @now) RETURNING id";
    account.Parameters.AddWithValue("@code", "");
    account.Parameters.AddWithValue("@now", now);
    using var agent = connection.CreateCommand();
    agent.Transaction = transaction;
    agent.CommandText = """
        INSERT INTO agents (crawler_uuid, email, password_hash, wallet_account_id, token_hash, disabled, created_at)
        VALUES (@uuid, @email, 'x', @wallet, @token, 0, @ms) RETURNING id
        """;
    agent.Parameters.AddWithValue("@uuid", "");
    agent.Parameters.AddWithValue("@email", "");
    agent.Parameters.AddWithValue("@wallet", 0L);
    agent.Parameters.AddWithValue("@token", "");
    agent.Parameters.AddWithValue("@ms", now.ToUnixTimeMilliseconds());
    using var index = connection.CreateCommand();
    index.Transaction = transaction;
    index.CommandText = "INSERT INTO agent_derivation_indexes (agent_id, derivation_index, created_at) VALUES (@agent, @index, @ms)";
    index.Parameters.AddWithValue("@agent", 0L);
    index.Parameters.AddWithValue("@index", 0L);
    index.Parameters.AddWithValue("@ms", now.ToUnixTimeMilliseconds());
    for (var i = 0; i < count; i++)
    {
        var uuid = Guid.NewGuid().ToString();
        account.Parameters["@code"].Value = "wallet:" + uuid;
        var wallet = (long)account.ExecuteScalar()!;
        agent.Parameters["@uuid"].Value = uuid;
        agent.Parameters["@email"].Value = $"bench{i}@example.com";
        agent.Parameters["@wallet"].Value = wallet;
        agent.Parameters["@token"].Value = uuid;
        var agentId = (long)agent.ExecuteScalar()!;
        index.Parameters["@agent"].Value = agentId;
        index.Parameters["@index"].Value = (long)i;
        index.ExecuteNonQuery();
    }
    transaction.Commit();
}

static async Task<JsonNode> WaitForRunAsync(HttpClient http, long after)
{
    while (true)
    {
        var runs = JsonNode.Parse(await http.GetStringAsync("/api/operator/jobs?job=watch:base&limit=5"))!["runs"]!.AsArray();
        if (runs.FirstOrDefault(r => r!["id"]!.GetValue<long>() > after && r["outcome"]!.GetValue<string>() != "running") is { } run)
        {
            return run["outcome"]!.GetValue<string>() == "succeeded" ? run : throw new InvalidOperationException("The pass failed: " + run.ToJsonString());
        }
        await Task.Delay(100);
    }
}

static async Task<DateTimeOffset> WaitForCreditAsync(HttpClient http, long micros)
{
    while (true)
    {
        var list = JsonNode.Parse(await http.GetStringAsync("/api/operator/deposits?state=credited&limit=5"))!["deposits"]!.AsArray();
        if (list.FirstOrDefault(d => d!["deposit"]!["amount"]!.GetValue<decimal>() * 1_000_000m == micros) is { } found)
        {
            return found["deposit"]!["updatedAt"]!.GetValue<DateTimeOffset>();
        }
        await Task.Delay(100);
    }
}

static long Memory(int pid, string field) =>
    long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

static byte[] RandomBytes(Random random, int count)
{
    var bytes = new byte[count];
    random.NextBytes(bytes);
    return bytes;
}
