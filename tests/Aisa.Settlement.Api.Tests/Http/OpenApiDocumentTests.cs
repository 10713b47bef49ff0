using System.Text.Json;
using System.Text.Json.Nodes;
using Aisa.Settlement.Storage;
using Aisa.Settlement.Testing;
using Json.Schema;

namespace Aisa.Settlement.Api.Tests.Http;

/// <summary>
/// The served OpenAPI document is typed: a client generated from it by independent tools (openapi-typescript, the TypeScript
/// compiler, openapi-fetch) builds and runs the seed's flow; an operation that loses its schemas breaks that build; and the
/// service's real answers conform to the schemas the document gives (checked with JsonSchema.Net).
/// </summary>
public sealed class OpenApiDocumentTests() : ServiceTests(StorageOptions.Sqlite)
{
    protected override string Environment => "Development";

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["Rails:Sandbox:Enabled"] = "true" };

    /// <summary>POSTs that carry no body: what they act on is in their path (or, for x402, in the payment header).</summary>
    private static readonly HashSet<string> BodilessPosts =
    [
        "/api/agent/auth/logout", "/api/publisher/auth/logout", "/api/agent/token/rotate", "/api/agent/approvals/{approvalId}/approve",
        "/api/agent/approvals/{approvalId}/decline", "/api/agent/webhook/deliveries/{deliveryId}/redeliver", "/api/publisher/webhook/deliveries/{deliveryId}/redeliver",
        "/api/operator/webhook/deliveries/{deliveryId}/redeliver", "/api/operator/payouts/run", "/api/operator/payouts/{payoutId}/approve",
        "/api/operator/payouts/{payoutId}/cancel", "/api/operator/publishers/{publisherId}/verify", "/api/publisher/domain-proof/check", "/api/agent/topup/{rail}",
    ];

    /// <summary>Called with no credential: the way in, the probes, a rail's own signed webhooks.</summary>
    private static readonly HashSet<string> Open =
        ["/api/agent/auth/register", "/api/agent/auth/login", "/api/publisher/auth/register", "/api/publisher/auth/login", "/healthz", "/readyz", "/metrics", "/api/webhooks/{rail}"];

    private async Task<JsonObject> DocumentAsync()
    {
        var reply = await Client.SendAsync(HttpMethod.Get, "/openapi/v1.json");
        Assert.Equal(200, reply.Code);
        return JsonNode.Parse(reply.Raw)!.AsObject();
    }

    private static string UniqueDomain() => $"flow{Guid.NewGuid():N}.example.com";

    private async Task<JsonObject> RunGeneratedClientAsync(JsonObject document, string domain)
    {
        var file = Path.Combine(Path.GetTempPath(), $"openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, document.ToJsonString());
        try
        {
            return JsonNode.Parse(await NodePeers.RunAsync("openapi-client.mjs", file, Client.Http.BaseAddress!.ToString().TrimEnd('/'), domain))!.AsObject();
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_client_generated_from_the_served_document_builds_and_runs_the_seeds_flow()
    {
        var domain = UniqueDomain();

        var run = await RunGeneratedClientAsync(await DocumentAsync(), domain);

        Assert.True(run["status"]!.GetValue<string>() == "ok", run.ToJsonString());
        var result = run["result"]!;
        Assert.Equal(402, result["refusedStatus"]!.GetValue<int>());
        Assert.Equal("insufficient_balance", result["refusedError"]!.GetValue<string>());
        Assert.Contains("sandbox:top-up", result["refusedOffers"]!.AsArray().Select(o => o!.GetValue<string>()));
        Assert.Equal("sandbox", result["topUpRail"]!.GetValue<string>());
        Assert.True(result["accessGranted"]!.GetValue<bool>());
        Assert.Equal(0.01m, result["charged"]!.GetValue<decimal>());
        Assert.Equal(4.99m, result["balanceAfter"]!.GetValue<decimal>());
        Assert.Equal("4.990000", result["balance"]!.GetValue<string>());
        Assert.Equal(2, result["transactions"]!.AsArray().Count);
        Assert.Equal(0.01m, result["grossCharges"]!.GetValue<decimal>());
    }

    [Theory]
    [InlineData("post", "/api/v1/access/verify", "requestBody")]
    [InlineData("post", "/api/agent/auth/register", "201")]
    [InlineData("post", "/api/v1/access/verify", "200")]
    public async Task An_operation_that_loses_a_schema_no_longer_builds_the_generated_client(string method, string path, string part)
    {
        var document = await DocumentAsync();
        var operation = document["paths"]![path]![method]!.AsObject();
        if (part == "requestBody")
        {
            operation.Remove("requestBody");
        }
        else
        {
            operation["responses"]![part]!.AsObject().Remove("content");
        }

        var run = await RunGeneratedClientAsync(document, UniqueDomain());

        Assert.True(run["status"]!.GetValue<string>() == "type-errors", run.ToJsonString());
        Assert.NotEmpty(run["errors"]!.AsArray());
    }

    [Fact]
    public async Task Every_operation_declares_its_body_its_answers_and_how_it_is_called()
    {
        var document = await DocumentAsync();
        var problems = new List<string>();
        var count = 0;
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                count++;
                var name = $"{method.ToUpperInvariant()} {path}";
                if (string.IsNullOrEmpty(operation!["summary"]?.GetValue<string>()))
                {
                    problems.Add($"{name}: no summary");
                }
                var takesBody = method == "put" || (method == "post" && !BodilessPosts.Contains(path));
                if (takesBody != operation["requestBody"]?["content"]?.AsObject().Any(c => c.Value?["schema"] is not null) is true)
                {
                    problems.Add($"{name}: request body schema {(takesBody ? "missing" : "not expected")}");
                }
                var responses = operation["responses"]?.AsObject().ToList() ?? [];
                if (!responses.Any(r => r.Key.StartsWith('2')))
                {
                    problems.Add($"{name}: no success answer");
                }
                foreach (var (status, response) in responses.Where(r => r.Key != "204"))
                {
                    if (response!["content"]?.AsObject().Any(c => c.Value?["schema"] is not null) is not true)
                    {
                        problems.Add($"{name}: no schema for {status}");
                    }
                }
                if (Open.Contains(path) != operation["security"] is null)
                {
                    problems.Add($"{name}: security {operation["security"]?.ToJsonString() ?? "none"}");
                }
            }
        }
        Assert.True(count > 60, $"only {count} operations");
        Assert.True(problems.Count == 0, string.Join("\n", problems));

        var schemes = document["components"]!["securitySchemes"]!.AsObject();
        Assert.Equal("X-AISA-Crawler-Token", schemes["crawlerToken"]!["name"]!.GetValue<string>());
        Assert.Equal("bearer", schemes["session"]!["scheme"]!.GetValue<string>());
        Assert.Equal("X-AISA-Operator-Key", schemes["operatorKey"]!["name"]!.GetValue<string>());
        Assert.Equal("crawlerToken", document["paths"]!["/api/v1/access/verify"]!["post"]!["security"]![0]!.AsObject().Single().Key);
        Assert.Equal("operatorKey", document["paths"]!["/api/operator/deposits"]!["get"]!["security"]![0]!.AsObject().Single().Key);
        Assert.Equal("session", document["paths"]!["/api/publisher/webhook"]!["put"]!["security"]![0]!.AsObject().Single().Key);
    }

    [Fact]
    public async Task The_real_answers_and_the_examples_conform_to_the_documented_schemas()
    {
        var document = await DocumentAsync();
        var agent = await Client.RegisterAgentAsync();
        var (domain, session) = await Client.RegisterPublisherAsync();
        var answers = new List<(string Method, string Path, Reply Reply)>
        {
            ("post", "/api/publisher/rules", await Client.PostAsync("/api/publisher/rules", new { urlPattern = "/article/", accessMode = "pay", price = 0.02m }, AisaClient.Bearer(session))),
            ("post", "/api/publisher/rules", await Client.PostAsync("/api/publisher/rules", new { urlPattern = "article" }, AisaClient.Bearer(session))),
            ("get", "/api/publisher/rules", await Client.SendAsync(HttpMethod.Get, "/api/publisher/rules", headers: AisaClient.Bearer(session))),
            ("post", "/api/v1/access/verify", await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/1", crawlerAutoPrice = true }, agent.CrawlerToken)),
            ("post", "/api/v1/access/verify", await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/1" }, agent.CrawlerToken)),
            ("post", "/api/v1/access/verify", await Client.VerifyAsync(new { publisherDomain = "nobody.example", resourceUrl = "/a", crawlerAutoPrice = true }, agent.CrawlerToken)),
            ("post", "/api/v1/access/verify", await Client.VerifyAsync(new { resourceUrl = "/a" }, agent.CrawlerToken)),
            ("post", "/api/agent/topup/create-session", await Client.PostAsync("/api/agent/topup/create-session", new { amount = 5.00m, rail = "sandbox" }, AisaClient.Bearer(agent.SessionToken))),
            ("post", "/api/agent/topup/create-session", await Client.PostAsync("/api/agent/topup/create-session", new { amount = 5.00m, rail = "nowhere" }, AisaClient.Bearer(agent.SessionToken))),
            ("post", "/api/v1/access/verify", await Client.VerifyAsync(new { publisherDomain = domain, resourceUrl = "/article/2", crawlerAutoPrice = true }, agent.CrawlerToken)),
            ("get", "/api/agent/info", await Client.SendAsync(HttpMethod.Get, "/api/agent/info", headers: AisaClient.Bearer(agent.SessionToken))),
            ("get", "/api/agent/info", await Client.SendAsync(HttpMethod.Get, "/api/agent/info")),
            ("get", "/api/agent/transactions", await Client.SendAsync(HttpMethod.Get, "/api/agent/transactions", headers: AisaClient.Bearer(agent.SessionToken))),
            ("get", "/api/agent/deposits", await Client.SendAsync(HttpMethod.Get, "/api/agent/deposits", headers: AisaClient.Bearer(agent.SessionToken))),
            ("post", "/api/agent/token/rotate", await Client.SendAsync(HttpMethod.Post, "/api/agent/token/rotate", headers: AisaClient.Bearer(agent.SessionToken))),
            ("get", "/api/publisher/earnings", await Client.SendAsync(HttpMethod.Get, "/api/publisher/earnings", headers: AisaClient.Bearer(session))),
            ("post", "/api/agent/auth/login", await Client.PostAsync("/api/agent/auth/login", new { email = "nobody@example.com", password = "wrong password here" })),
        };
        Assert.Equal([201, 400, 200, 402, 402, 404, 400, 201, 400, 200, 200, 401, 200, 200, 200, 200, 401], answers.Select(a => a.Reply.Code));
        var bearer = AisaClient.Bearer(agent.SessionToken);
        var deposit = (await Client.SendAsync(HttpMethod.Get, "/api/agent/deposits", headers: bearer)).Body.GetProperty("deposits")[0].GetProperty("id").GetInt64();
        var more = new List<(string Method, string Path, Reply Reply)>
        {
            ("get", "/healthz", await Client.SendAsync(HttpMethod.Get, "/healthz")),
            ("get", "/readyz", await Client.SendAsync(HttpMethod.Get, "/readyz")),
            ("put", "/api/agent/guard", await Client.SendAsync(HttpMethod.Put, "/api/agent/guard", """{"dailyBudget":1.5,"approvalAbove":1}""", bearer)),
            ("get", "/api/agent/guard", await Client.SendAsync(HttpMethod.Get, "/api/agent/guard", headers: bearer)),
            ("get", "/api/agent/keys", await Client.SendAsync(HttpMethod.Get, "/api/agent/keys", headers: bearer)),
            ("get", "/api/agent/approvals", await Client.SendAsync(HttpMethod.Get, "/api/agent/approvals", headers: bearer)),
            ("get", "/api/agent/deposit-addresses", await Client.SendAsync(HttpMethod.Get, "/api/agent/deposit-addresses", headers: bearer)),
            ("put", "/api/agent/webhook", await Client.SendAsync(HttpMethod.Put, "/api/agent/webhook", """{"url":"https://hooks.example.com/aisa"}""", bearer)),
            ("get", "/api/agent/webhook", await Client.SendAsync(HttpMethod.Get, "/api/agent/webhook", headers: bearer)),
            ("get", "/api/agent/webhook/deliveries", await Client.SendAsync(HttpMethod.Get, "/api/agent/webhook/deliveries", headers: bearer)),
            ("get", "/api/publisher/payout-settings", await Client.SendAsync(HttpMethod.Get, "/api/publisher/payout-settings", headers: AisaClient.Bearer(session))),
            ("get", "/api/publisher/payouts", await Client.SendAsync(HttpMethod.Get, "/api/publisher/payouts", headers: AisaClient.Bearer(session))),
            ("get", "/api/publisher/domain-proof", await Client.SendAsync(HttpMethod.Get, "/api/publisher/domain-proof", headers: AisaClient.Bearer(session))),
            ("get", "/api/operator/ledger/audit", await Client.SendAsync(HttpMethod.Get, "/api/operator/ledger/audit", headers: AisaClient.Operator())),
            ("get", "/api/operator/deposits", await Client.SendAsync(HttpMethod.Get, "/api/operator/deposits", headers: AisaClient.Operator())),
            ("get", "/api/operator/deposits/{depositId}", await Client.SendAsync(HttpMethod.Get, $"/api/operator/deposits/{deposit}", headers: AisaClient.Operator())),
            ("get", "/api/operator/jobs", await Client.SendAsync(HttpMethod.Get, "/api/operator/jobs", headers: AisaClient.Operator())),
            ("get", "/api/operator/payouts", await Client.SendAsync(HttpMethod.Get, "/api/operator/payouts", headers: AisaClient.Operator())),
            ("post", "/api/operator/crawlers/{crawlerId}/adjustments", await Client.PostAsync($"/api/operator/crawlers/{agent.Id}/adjustments", new { amount = 1.00m, reason = "goodwill" }, AisaClient.Operator())),
            ("get", "/api/operator/crawlers/{crawlerId}/guard", await Client.SendAsync(HttpMethod.Get, $"/api/operator/crawlers/{agent.Id}/guard", headers: AisaClient.Operator())),
        };
        Assert.Equal([200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 200, 200, 200, 200, 200, 200, 200, 201, 200], more.Select(a => a.Reply.Code));
        answers.AddRange(more);

        foreach (var (method, path, reply) in answers)
        {
            var schema = SchemaAt(document, document["paths"]![path]![method]!["responses"]![reply.Code.ToString(System.Globalization.CultureInfo.InvariantCulture)]?["content"]?["application/json"]?["schema"],
                $"{method} {path} {reply.Code}");
            AssertConforms(schema, JsonNode.Parse(reply.Raw), $"{method} {path} {reply.Code}");
        }

        // The examples the document shows are answers too.
        var verify = document["paths"]!["/api/v1/access/verify"]!["post"]!;
        foreach (var (status, media) in verify["responses"]!.AsObject().Select(r => (r.Key, r.Value!["content"]?["application/json"])).Where(r => r.Item2?["examples"] is not null))
        {
            foreach (var (name, example) in media!["examples"]!.AsObject())
            {
                AssertConforms(SchemaAt(document, media["schema"], $"verify {status}"), example!["value"]!.DeepClone(), $"verify example {name}");
            }
        }
    }

    /// <summary>The schema at <paramref name="node"/>, with the document's component schemas as its <c>$defs</c>.</summary>
    private static JsonSchema SchemaAt(JsonObject document, JsonNode? node, string what)
    {
        Assert.True(node is not null, $"{what}: no schema in the document");
        var text = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$defs"] = document["components"]!["schemas"]!.DeepClone(),
            ["allOf"] = new JsonArray(node!.DeepClone()),
        }.ToJsonString().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal);
        return JsonSchema.FromText(text);
    }

    private static void AssertConforms(JsonSchema schema, JsonNode? instance, string what)
    {
        var result = schema.Evaluate(JsonDocument.Parse(instance?.ToJsonString() ?? "null").RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"{what}: {instance?.ToJsonString()} does not conform: " +
            string.Join("; ", (result.Details ?? []).Where(d => d.Errors is { Count: > 0 }).Select(d => $"{d.InstanceLocation}: {string.Join(", ", d.Errors!.Values)}")));
    }
}
