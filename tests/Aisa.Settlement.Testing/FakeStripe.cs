using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Aisa.Settlement.Testing;

/// <summary>
/// A hand-written stand-in for Stripe's API (no real Stripe runs here), built from the documented shapes of
/// <c>POST /v1/checkout/sessions</c> (form-encoded, Bearer key, Idempotency-Key replays the first result) and the
/// Checkout Session object, the list endpoints (<c>GET /v1/checkout/sessions?payment_intent=</c>,
/// <c>GET /v1/refunds?charge=</c>, <c>{object: "list", data, has_more}</c>), the Charge, Refund and Dispute objects;
/// it also plays the payer (<see cref="Pay"/>), the payer's bank (<see cref="Dispute"/>), the merchant refunding
/// (<see cref="Refund"/>), and writes the events Stripe would send.
/// </summary>
public sealed class FakeStripe : IAsyncDisposable
{
    public const string SecretKey = "sk_test_fake_0123456789";
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, JsonObject> _sessions = new();
    private readonly ConcurrentDictionary<string, string> _byIdempotencyKey = new();
    private readonly ConcurrentDictionary<string, JsonObject> _charges = new();
    private readonly ConcurrentDictionary<string, JsonObject> _refunds = new();
    private readonly ConcurrentDictionary<string, JsonObject> _disputes = new();
    private int _creates;

    private FakeStripe(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>POSTs that created a session (an idempotent replay creates none).</summary>
    public int Creates => _creates;

    public ConcurrentQueue<string> VersionsSeen { get; } = new();

    /// <summary>While set, the list and charge endpoints answer 500 as Stripe does in an outage.</summary>
    public bool Failing { get; set; }

    /// <summary>Sessions that Stripe answers 500 for, whatever is asked of them.</summary>
    public ConcurrentDictionary<string, bool> Unreadable { get; } = new();

    public static async Task<FakeStripe> StartAsync()
    {
        FakeStripe? fake = null;
        var (app, url) = await LocalSite.StartAsync(_ => { }, app =>
        {
            fake = new FakeStripe(app);
            app.MapPost("/v1/checkout/sessions", fake.CreateAsync);
            app.MapGet("/v1/checkout/sessions/{id}", (string id, HttpRequest request) =>
                !Authorized(request) ? Error(401, "Invalid API Key provided")
                : fake.Unreadable.ContainsKey(id) ? Error(500, "An unknown error occurred")
                : fake._sessions.TryGetValue(id, out var session) ? Results.Text(session.ToJsonString(), "application/json")
                : Error(404, $"No such checkout.session: '{id}'"));
            app.MapGet("/v1/checkout/sessions", (HttpRequest request) =>
                fake.Failing ? Error(500, "An unknown error occurred") : !Authorized(request) ? Error(401, "Invalid API Key provided")
                : List("/v1/checkout/sessions", fake._sessions.Values.Where(s => s["payment_intent"]?.ToString() == request.Query["payment_intent"].ToString())));
            app.MapGet("/v1/refunds", (HttpRequest request) =>
                fake.Failing ? Error(500, "An unknown error occurred") : !Authorized(request) ? Error(401, "Invalid API Key provided")
                : List("/v1/refunds", fake._refunds.Values.Where(r => r["charge"]!.ToString() == request.Query["charge"].ToString())));
            app.MapGet("/v1/charges/{id}", (string id, HttpRequest request) =>
                fake.Failing ? Error(500, "An unknown error occurred") : !Authorized(request) ? Error(401, "Invalid API Key provided")
                : fake._charges.TryGetValue(id, out var charge) ? Results.Text(charge.ToJsonString(), "application/json")
                : Error(404, $"No such charge: '{id}'"));
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

    /// <summary>The payer completes Checkout: the session is complete and paid, by a PaymentIntent whose charge succeeded.</summary>
    public JsonObject Pay(string sessionId)
    {
        var session = _sessions[sessionId];
        var paymentIntent = "pi_test_" + Guid.NewGuid().ToString("N")[..16];
        var chargeId = "ch_test_" + Guid.NewGuid().ToString("N")[..16];
        _charges[chargeId] = new JsonObject
        {
            ["id"] = chargeId,
            ["object"] = "charge",
            ["amount"] = session["amount_total"]!.GetValue<long>(),
            ["amount_refunded"] = 0L,
            ["currency"] = "usd",
            ["paid"] = true,
            ["refunded"] = false,
            ["disputed"] = false,
            ["payment_intent"] = paymentIntent,
            ["status"] = "succeeded",
        };
        session["status"] = "complete";
        session["payment_status"] = "paid";
        session["payment_intent"] = paymentIntent;
        return session;
    }

    /// <summary>
    /// A session as this service makes them (its metadata names a deposit) but for a deposit the service does not have
    /// (its database restored from a backup older than the session, say).
    /// </summary>
    public string CreateOrphanSession(long amountCents, string depositId)
    {
        var id = "cs_test_" + Guid.NewGuid().ToString("N");
        _sessions[id] = new JsonObject
        {
            ["id"] = id,
            ["object"] = "checkout.session",
            ["mode"] = "payment",
            ["status"] = "open",
            ["payment_status"] = "unpaid",
            ["amount_total"] = amountCents,
            ["currency"] = "usd",
            ["client_reference_id"] = depositId,
            ["metadata"] = new JsonObject { ["deposit_id"] = depositId, ["agent_id"] = "1" },
            ["payment_intent"] = null,
        };
        return id;
    }

    /// <summary>The charge that paid a session.</summary>
    public string ChargeOf(string sessionId) =>
        _charges.Values.Single(c => c["payment_intent"]!.ToString() == _sessions[sessionId]["payment_intent"]!.ToString())["id"]!.ToString();

    /// <summary>The merchant refunds part of a session's charge (from Stripe's dashboard): a Refund, and the charge's running total.</summary>
    public string Refund(string sessionId, long amountCents, string status = "succeeded")
    {
        var charge = _charges[ChargeOf(sessionId)];
        var id = "re_test_" + Guid.NewGuid().ToString("N")[..16];
        _refunds[id] = new JsonObject
        {
            ["id"] = id,
            ["object"] = "refund",
            ["amount"] = amountCents,
            ["charge"] = charge["id"]!.ToString(),
            ["currency"] = "usd",
            ["payment_intent"] = charge["payment_intent"]!.ToString(),
            ["status"] = status,
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        };
        var refunded = charge["amount_refunded"]!.GetValue<long>() + amountCents;
        charge["amount_refunded"] = refunded;
        charge["refunded"] = refunded == charge["amount"]!.GetValue<long>();
        return id;
    }

    public void SetRefundStatus(string refundId, string status) => _refunds[refundId]["status"] = status;

    /// <summary>The payer's bank disputes a session's charge.</summary>
    public string Dispute(string sessionId, long amountCents, string status = "needs_response")
    {
        var charge = _charges[ChargeOf(sessionId)];
        var id = "dp_test_" + Guid.NewGuid().ToString("N")[..16];
        _disputes[id] = new JsonObject
        {
            ["id"] = id,
            ["object"] = "dispute",
            ["amount"] = amountCents,
            ["charge"] = charge["id"]!.ToString(),
            ["currency"] = "usd",
            ["payment_intent"] = charge["payment_intent"]!.ToString(),
            ["reason"] = "fraudulent",
            ["status"] = status,
            ["is_charge_refundable"] = false,
            ["balance_transactions"] = new JsonArray(),
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        };
        charge["disputed"] = true;
        return id;
    }

    public void SetDisputeStatus(string disputeId, string status) => _disputes[disputeId]["status"] = status;

    /// <summary>The event Stripe would deliver for the session as it is now, compact JSON.</summary>
    public string Event(string type, string sessionId) => EventOf(type, _sessions[sessionId]);

    public string ChargeEvent(string type, string chargeId) => EventOf(type, _charges[chargeId]);

    public string RefundEvent(string type, string refundId) => EventOf(type, _refunds[refundId]);

    public string DisputeEvent(string type, string disputeId) => EventOf(type, _disputes[disputeId]);

    private static string EventOf(string type, JsonObject subject) => new JsonObject
    {
        ["id"] = "evt_test_" + Guid.NewGuid().ToString("N")[..16],
        ["object"] = "event",
        ["api_version"] = "2024-06-20",
        ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        ["type"] = type,
        ["livemode"] = false,
        ["data"] = new JsonObject { ["object"] = subject.DeepClone() },
    }.ToJsonString();

    private static IResult List(string url, IEnumerable<JsonObject> items) => Results.Text(new JsonObject
    {
        ["object"] = "list",
        ["url"] = url,
        ["has_more"] = false,
        ["data"] = new JsonArray(items.Select(i => (JsonNode)i.DeepClone()).ToArray()),
    }.ToJsonString(), "application/json");

    private static bool Authorized(HttpRequest request) => request.Headers.Authorization.ToString() == "Bearer " + SecretKey;

    private static IResult Error(int status, string message) =>
        Results.Json(new { error = new { message, type = "invalid_request_error" } }, statusCode: status);

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
