using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Aisa.Settlement.Testing;

/// <summary>
/// A hand-written stand-in for Stripe's API (no real Stripe runs here), built from the documented shapes of
/// <c>POST /v1/checkout/sessions</c> (form-encoded, Bearer key, Idempotency-Key replays the first result) and the
/// Checkout Session object, the list endpoints (<c>GET /v1/checkout/sessions?payment_intent=</c>,
/// <c>GET /v1/refunds?charge=</c>, <c>{object: "list", data, has_more}</c>), the Charge, Refund and Dispute objects,
/// and for Connect payouts the Account (<c>capabilities.transfers</c>) and Transfer (<c>POST /v1/transfers</c> drawing on the
/// platform's balance, an Idempotency-Key replaying the first, <c>GET /v1/transfers?transfer_group=</c>), at Stripe.net's
/// API version (<see cref="ApiVersion"/>); it also plays the payer (<see cref="Pay"/>), the payer's bank (<see cref="Dispute"/>), the merchant refunding
/// (<see cref="Refund"/>), and writes the events Stripe would send.
/// </summary>
public sealed class FakeStripe : IAsyncDisposable
{
    public const string SecretKey = "sk_test_fake_0123456789";

    /// <summary>The API version this fake answers and writes its events in: Stripe.net 53.1.0's pin.</summary>
    public const string ApiVersion = "2026-10-28.endive";
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

    /// <summary>The <c>Stripe-Signature</c> header Stripe would send with <paramref name="payload"/>, made by the official stripe npm package.</summary>
    public static async Task<string> SignAsync(string payload, string secret, DateTimeOffset? at = null)
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, payload, new System.Text.UTF8Encoding(false));
            return await NodePeers.RunAsync("stripe-sign.mjs",
                [file, secret, .. at is { } time ? [time.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)] : Array.Empty<string>()]);
        }
        finally
        {
            File.Delete(file);
        }
    }

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
            app.MapGet("/v1/accounts/{id}", (string id, HttpRequest request) =>
                !Authorized(request) ? Error(401, "Invalid API Key provided")
                : fake.ConnectedAccounts.TryGetValue(id, out var transfers) ? Results.Text(new JsonObject
                {
                    ["id"] = id, ["object"] = "account", ["type"] = "express", ["charges_enabled"] = transfers, ["payouts_enabled"] = transfers,
                    ["capabilities"] = new JsonObject { ["transfers"] = transfers ? "active" : "inactive" },
                }.ToJsonString(), "application/json")
                : Error(404, $"No such account: '{id}'", "resource_missing"));
            app.MapPost("/v1/transfers", fake.TransferAsync);
            app.MapGet("/v1/transfers", (HttpRequest request) =>
                !Authorized(request) ? Error(401, "Invalid API Key provided")
                : List("/v1/transfers", fake._transfers.Values.Where(t => t["transfer_group"]?.ToString() == request.Query["transfer_group"].ToString())));
            app.MapGet("/v1/charges/{id}", (string id, HttpRequest request) =>
                fake.Failing ? Error(500, "An unknown error occurred") : !Authorized(request) ? Error(401, "Invalid API Key provided")
                : fake._charges.TryGetValue(id, out var charge) ? Results.Text(charge.ToJsonString(), "application/json")
                : Error(404, $"No such charge: '{id}'"));
        });
        fake!.Url = url;
        return fake;
    }

    /// <summary>Connected accounts (Stripe Connect) by id, and whether each may receive transfers.</summary>
    public ConcurrentDictionary<string, bool> ConnectedAccounts { get; } = new();

    /// <summary>The platform balance transfers draw on, in cents: a transfer above it is refused (balance_insufficient).</summary>
    public long PlatformBalanceCents { get; set; } = 1_000_000;

    /// <summary>The next transfer is made, then its answer lost (HTTP 500, not to be retried by the library).</summary>
    public bool LoseNextTransferAnswer { get; set; }

    /// <summary>Transfer requests received (replays of a key included).</summary>
    public int TransferRequests => _transferRequests;

    private int _transferRequests;

    private readonly ConcurrentDictionary<string, JsonObject> _transfers = new();
    private readonly ConcurrentDictionary<string, string> _transferKeys = new();

    /// <summary>Cents transferred to a connected account, and how many transfers.</summary>
    public (long Cents, int Count) TransferredTo(string account)
    {
        var to = _transfers.Values.Where(t => t["destination"]!.ToString() == account).ToList();
        return (to.Sum(t => t["amount"]!.GetValue<long>()), to.Count);
    }

    private async Task<IResult> TransferAsync(HttpRequest request)
    {
        if (!Authorized(request))
        {
            return Error(401, "Invalid API Key provided");
        }
        VersionsSeen.Enqueue(request.Headers["Stripe-Version"].ToString());
        Interlocked.Increment(ref _transferRequests);
        var key = request.Headers["Idempotency-Key"].ToString();
        if (key.Length > 0 && _transferKeys.TryGetValue(key, out var known))
        {
            return Results.Text(_transfers[known].ToJsonString(), "application/json");
        }
        var form = await request.ReadFormAsync();
        var destination = form["destination"].ToString();
        if (!ConnectedAccounts.TryGetValue(destination, out var active))
        {
            return Error(400, $"No such destination: '{destination}'", "resource_missing");
        }
        if (!active)
        {
            return Error(400, "Your destination account needs to have at least one of the following capabilities enabled: transfers", "insufficient_capabilities_for_transfer");
        }
        if (!long.TryParse(form["amount"], out var amount) || amount < 1 || form["currency"] != "usd")
        {
            return Error(400, "Invalid amount or currency.", "parameter_invalid_integer");
        }
        lock (_transfers)
        {
            if (amount > PlatformBalanceCents)
            {
                return Error(400, "You have insufficient available funds in your Stripe account.", "balance_insufficient");
            }
            PlatformBalanceCents -= amount;
        }
        var id = "tr_" + Guid.NewGuid().ToString("N")[..24];
        var transfer = new JsonObject
        {
            ["id"] = id, ["object"] = "transfer", ["amount"] = amount, ["amount_reversed"] = 0, ["currency"] = "usd", ["destination"] = destination,
            ["transfer_group"] = form["transfer_group"].ToString(), ["metadata"] = new JsonObject { ["payout_id"] = form["metadata[payout_id]"].ToString() },
            ["reversed"] = false, ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), ["livemode"] = false,
        };
        _transfers[id] = transfer;
        if (key.Length > 0)
        {
            _transferKeys[key] = id;
        }
        if (LoseNextTransferAnswer)
        {
            LoseNextTransferAnswer = false;
            // Stripe.net would retry a 500 with the same key (and be answered the transfer): told not to, the caller sees it lost.
            request.HttpContext.Response.Headers["Stripe-Should-Retry"] = "false";
            return Results.Text("""{"error":{"type":"api_error","message":"An unknown error occurred"}}""", "application/json", statusCode: 500);
        }
        return Results.Text(transfer.ToJsonString(), "application/json");
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
        ["api_version"] = ApiVersion,
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

    private static IResult Error(int status, string message, string? code = null) =>
        Results.Json(new { error = new { message, type = status >= 500 ? "api_error" : "invalid_request_error", code } }, statusCode: status);

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
