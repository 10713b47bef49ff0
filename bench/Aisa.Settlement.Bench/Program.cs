// Seeds a running service for the verify load test through its own public API: crawlers with funded wallets,
// publishers with a priced rule each (their domains verified by the operator). Writes the crawler tokens and publisher
// domains as a Lua table for wrk. With AISA_BENCH_GUARD=1 every crawler gets a spending policy whose every rule is
// evaluated on each verify and none refuses (price cap, budgets, lists, pace, approval threshold): the guard's cost.
// Usage: Aisa.Settlement.Bench seed <service url> <operator key> <crawlers> <publishers> <lua file>
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

if (args is not ["seed", var url, var operatorKey, var crawlerText, var publisherText, var output])
{
    Console.Error.WriteLine("usage: Aisa.Settlement.Bench seed <service url> <operator key> <crawlers> <publishers> <lua file>");
    return 2;
}
var crawlers = int.Parse(crawlerText, CultureInfo.InvariantCulture);
var publishers = int.Parse(publisherText, CultureInfo.InvariantCulture);
using var http = new HttpClient { BaseAddress = new Uri(url) };
var run = Guid.NewGuid().ToString("N")[..8];
var guarded = Environment.GetEnvironmentVariable("AISA_BENCH_GUARD") == "1";

async Task<JsonElement> PostAsync(string path, object body, string? bearer = null, string? operatorHeader = null, HttpMethod? method = null)
{
    using var request = new HttpRequestMessage(method ?? HttpMethod.Post, path) { Content = JsonContent.Create(body) };
    if (bearer is not null)
    {
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
    }
    if (operatorHeader is not null)
    {
        request.Headers.Add("X-AISA-Operator-Key", operatorHeader);
    }
    using var response = await http.SendAsync(request);
    var text = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {text}");
    }
    return JsonDocument.Parse(text).RootElement.Clone();
}

var domains = new string[publishers];
await Parallel.ForAsync(0, publishers, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
{
    var domain = $"pub{i}-{run}.bench.example";
    var registered = await PostAsync("/api/publisher/auth/register", new { email = $"pub{i}-{run}@bench.example", password = "bench-password", domain });
    await PostAsync("/api/publisher/rules", new { urlPattern = "/article/", accessMode = "pay", price = 0.001m }, registered.GetProperty("token").GetString());
    await PostAsync($"/api/operator/publishers/{registered.GetProperty("publisher").GetProperty("id").GetInt64()}/verify", new { }, operatorHeader: operatorKey);
    domains[i] = domain;
});
var tokens = new string[crawlers];
await Parallel.ForAsync(0, crawlers, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
{
    var registered = await PostAsync("/api/agent/auth/register", new { email = $"crawler{i}-{run}@bench.example", password = "bench-password", crawlerType = "BenchBot" });
    var crawler = registered.GetProperty("crawler");
    await PostAsync($"/api/operator/crawlers/{crawler.GetProperty("id").GetInt64()}/adjustments", new { amount = 10_000m, reason = "benchmark funds" }, operatorHeader: operatorKey);
    if (guarded)
    {
        await PostAsync($"/api/operator/crawlers/{crawler.GetProperty("id").GetInt64()}/guard", new
        {
            maxPricePerRequest = 1m, dailyBudget = 1_000_000m, monthlyBudget = 1_000_000m, publisherAllowlist = new[] { "bench.example" },
            publisherDenylist = new[] { "blocked.example" }, requestsPerMinute = 1_000_000, approvalAbove = 1m,
        }, operatorHeader: operatorKey, method: HttpMethod.Put);
    }
    tokens[i] = crawler.GetProperty("crawlerToken").GetString()!;
});

var lua = new StringBuilder("return {\n  tokens = {\n");
foreach (var token in tokens)
{
    lua.Append(CultureInfo.InvariantCulture, $"    \"{token}\",\n");
}
lua.Append("  },\n  domains = {\n");
foreach (var domain in domains)
{
    lua.Append(CultureInfo.InvariantCulture, $"    \"{domain}\",\n");
}
lua.Append("  },\n}\n");
await File.WriteAllTextAsync(output, lua.ToString());
Console.WriteLine($"seeded {crawlers} crawlers and {publishers} publishers");
return 0;
