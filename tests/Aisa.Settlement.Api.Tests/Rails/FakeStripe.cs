using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Aisa.Settlement.Api.Tests.Rails;

/// <summary>
/// A hand-written stand-in for Stripe's API (no real Stripe runs here), built from the documented shapes of
/// <c>POST /v1/checkout/sessions</c> (form-encoded, Bearer key, Idempotency-Key replays the first result) and the
/// Checkout Session object; it also plays the payer (<see cref="Pay"/>) and writes the events Stripe would send.
/// </summary>
public sealed class FakeStripe : IAsyncDisposable
{
    public const string SecretKey = "sk_test_fake_0123456789";
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, JsonObject> _sessions = new();
    private readonly ConcurrentDictionary<string, string> _byIdempotencyKey = new();
    private int _creates;

    private FakeStripe(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>POSTs that created a session (an idempotent replay creates none).</summary>
    public int Creates => _creates;

    public ConcurrentQueue<string> VersionsSeen { get; } = new();

    public static async Task<FakeStripe> StartAsync()
    {
        FakeStripe? fake = null;
        var (app, url) = await LocalSite.StartAsync(_ => { }, app =>
        {
            fake = new FakeStripe(app);
            app.MapPost("/v1/checkout/sessions", fake.CreateAsync);
            app.MapGet("/v1/checkout/sessions/{id}", (string id, HttpRequest request) =>
                !Authorized(request) ? Error(401, "Invalid API Key provided")
                : fake._sessions.TryGetValue(id, out var session) ? Results.Text(session.ToJsonString(), "application/json")
                : Error(404, $"No such checkout.session: '{id}'"));
        });
        fake!.Url = url;
        return fake;
    }

    private async Task<IResult> CreateAsync(HttpRequest request)
    {
        if (!Authorized(request))
        {
            return Error(401, "Invalid API Key provided");
        }
        VersionsSeen.Enqueue(request.Headers["Stripe-Version"].ToString());
        var key = request.Headers["Idempotency-Key"].ToString();
        if (key.Length > 0 && _byIdempotencyKey.TryGetValue(key, out var known))
        {
            return Results.Text(_sessions[known].ToJsonString(), "application/json");
        }
        var form = await request.ReadFormAsync();
        if (form["mode"] != "payment" || !long.TryParse(form["line_items[0][price_data][unit_amount]"], out var unitAmount) || unitAmount < 50)
        {
            return Error(400, "The amount must be at least $0.50 usd and mode must be payment.");
        }
        var id = "cs_test_" + Guid.NewGuid().ToString("N");
        var session = new JsonObject
        {
            ["id"] = id,
            ["object"] = "checkout.session",
            ["mode"] = "payment",
            ["url"] = $"https://checkout.stripe.com/c/pay/{id}",
            ["status"] = "open",
            ["payment_status"] = "unpaid",
            ["amount_subtotal"] = unitAmount * long.Parse(form["line_items[0][quantity]"]!),
            ["amount_total"] = unitAmount * long.Parse(form["line_items[0][quantity]"]!),
            ["currency"] = form["line_items[0][price_data][currency]"].ToString(),
            ["client_reference_id"] = form["client_reference_id"].ToString(),
            ["metadata"] = new JsonObject { ["deposit_id"] = form["metadata[deposit_id]"].ToString(), ["agent_id"] = form["metadata[agent_id]"].ToString() },
            ["payment_intent"] = null,
            ["success_url"] = form["success_url"].ToString(),
            ["cancel_url"] = form["cancel_url"].ToString(),
            ["expires_at"] = DateTimeOffset.UtcNow.AddHours(24).ToUnixTimeSeconds(),
            ["livemode"] = false,
        };
        _sessions[id] = session;
        if (key.Length > 0)
        {
            _byIdempotencyKey[key] = id;
        }
        Interlocked.Increment(ref _creates);
        return Results.Text(session.ToJsonString(), "application/json");
    }

    /// <summary>The payer completes Checkout: the session is complete and paid.</summary>
    public JsonObject Pay(string sessionId)
    {
        var session = _sessions[sessionId];
        session["status"] = "complete";
        session["payment_status"] = "paid";
        session["payment_intent"] = "pi_test_" + Guid.NewGuid().ToString("N")[..16];
        return session;
    }

    /// <summary>The event Stripe would deliver for the session as it is now, compact JSON.</summary>
    public string Event(string type, string sessionId) => new JsonObject
    {
        ["id"] = "evt_test_" + Guid.NewGuid().ToString("N")[..16],
        ["object"] = "event",
        ["api_version"] = "2024-06-20",
        ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        ["type"] = type,
        ["livemode"] = false,
        ["data"] = new JsonObject { ["object"] = _sessions[sessionId].DeepClone() },
    }.ToJsonString();

    private static bool Authorized(HttpRequest request) => request.Headers.Authorization.ToString() == "Bearer " + SecretKey;

    private static IResult Error(int status, string message) =>
        Results.Json(new { error = new { message, type = "invalid_request_error" } }, statusCode: status);

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
