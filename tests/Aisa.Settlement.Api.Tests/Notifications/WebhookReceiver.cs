using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Aisa.Settlement.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Aisa.Settlement.Api.Tests.Notifications;

/// <summary>
/// A real webhook receiver (a web app on a loopback port, plain http: the service runs with
/// <c>Notifications:AllowPrivateNetworks</c>) that keeps every attempt and fails each delivery's first
/// <paramref name="failFirst"/> attempts with 503; it checks signatures as the README tells a receiver to.
/// </summary>
public sealed class WebhookReceiver(int failFirst) : IAsyncDisposable
{
    public sealed record Received(string Delivery, string Event, string Signature, string Headers, string Body, DateTimeOffset At)
    {
        public JsonElement Data => JsonDocument.Parse(Body).RootElement.GetProperty("data");
    }

    private readonly ConcurrentQueue<Received> _received = new();
    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private WebApplication? _site;

    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<Received> Attempts => [.. _received];

    public static async Task<WebhookReceiver> StartAsync(int failFirst = 0)
    {
        var receiver = new WebhookReceiver(failFirst);
        var (site, url) = await LocalSite.StartAsync(_ => { }, app => app.MapPost("/hook", receiver.TakeAsync));
        receiver._site = site;
        receiver.Url = new Uri(url, "/hook");
        return receiver;
    }

    /// <summary>The JSON body of <c>PUT /api/…/webhook</c> pointing at this receiver.</summary>
    public string Registration => JsonSerializer.Serialize(new { url = Url.ToString() });

    private async Task<IResult> TakeAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body);
        var body = await reader.ReadToEndAsync();
        var delivery = request.Headers["AISA-Delivery"].ToString();
        var headers = string.Join('\n', request.Headers.Select(h => $"{h.Key}: {h.Value}"));
        _received.Enqueue(new Received(delivery, request.Headers["AISA-Event"].ToString(), request.Headers["AISA-Signature"].ToString(), headers, body, DateTimeOffset.UtcNow));
        return _attempts.AddOrUpdate(delivery, 1, (_, n) => n + 1) <= failFirst ? Results.StatusCode(503) : Results.Ok();
    }

    /// <summary>The receiver's check, as documented: the HMAC of "t.body" under the secret, and a t at most 300 s old.</summary>
    public static bool SignatureHolds(Received received, string secret)
    {
        var parts = received.Signature.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(parts["t"] + "." + received.Body)));
        var age = received.At - DateTimeOffset.FromUnixTimeSeconds(long.Parse(parts["t"], CultureInfo.InvariantCulture));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(parts["v1"])) && age < TimeSpan.FromSeconds(300);
    }

    /// <summary>Waits until the receiver took (answered 2xx) the deliveries <paramref name="done"/> asks for.</summary>
    public async Task<IReadOnlyList<Received>> WaitForAsync(Func<IReadOnlyList<Received>, bool> done, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            var taken = Attempts.Where(a => _attempts.GetValueOrDefault(a.Delivery) > failFirst).GroupBy(a => a.Delivery).Select(g => g.Last()).ToList();
            if (done(taken))
            {
                return taken;
            }
            Assert.True(DateTime.UtcNow < deadline, $"The receiver never got {what}; it took: {string.Join(" | ", taken.Select(t => $"{t.Delivery} {t.Event}"))}");
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_site is not null)
        {
            await _site.DisposeAsync();
        }
    }
}
