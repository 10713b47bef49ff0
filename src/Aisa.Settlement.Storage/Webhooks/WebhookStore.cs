using System.Data.Common;

namespace Aisa.Settlement.Storage.Webhooks;

public sealed record WebhookEndpoint(string Owner, string Url, string Secret, DateTimeOffset CreatedAt);

public sealed record WebhookDelivery(
    long Id,
    string Owner,
    string EventKey,
    string EventType,
    string Payload,
    string State,
    int Attempts,
    int? LastStatus,
    string? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset? DeliveredAt);

/// <summary>Webhook endpoints and the delivery log: one delivery per owner and event, whichever instance noticed it first.</summary>
public sealed class WebhookStore(SqlDatabase database, TimeProvider clock)
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";

    private const string Columns =
        "id, owner, event_key, event_type, payload, state, attempts, last_status, last_error, created_at, updated_at, next_attempt_at, delivered_at";

    public async Task SetEndpointAsync(string owner, string url, string secret, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            """
            INSERT INTO webhook_endpoints (owner, url, secret, created_at) VALUES (@owner, @url, @secret, @now)
            ON CONFLICT (owner) DO UPDATE SET url = excluded.url, secret = excluded.secret, created_at = excluded.created_at
            """,
            cancellationToken, ("owner", owner), ("url", url), ("secret", secret), ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()));
    }

    public async Task<WebhookEndpoint?> EndpointAsync(string owner, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null, "SELECT owner, url, secret, created_at FROM webhook_endpoints WHERE owner = @owner", ("owner", owner));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new WebhookEndpoint(reader.GetString(0), reader.GetString(1), reader.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)))
            : null;
    }

    public async Task<bool> RemoveEndpointAsync(string owner, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null, "DELETE FROM webhook_endpoints WHERE owner = @owner", cancellationToken, ("owner", owner)) == 1;
    }

    /// <summary>Records the event's delivery; null when this owner's event was recorded before (by this instance or another).</summary>
    public async Task<WebhookDelivery?> AddAsync(string owner, string eventKey, string eventType, string payload, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            $"""
            INSERT INTO webhook_deliveries (owner, event_key, event_type, payload, state, attempts, created_at, updated_at, next_attempt_at)
            VALUES (@owner, @eventKey, @eventType, @payload, '{Pending}', 0, @now, @now, @now)
            ON CONFLICT (owner, event_key) DO NOTHING
            RETURNING {Columns}
            """,
            ("owner", owner), ("eventKey", eventKey), ("eventType", eventType), ("payload", payload), ("now", now));
        return (await ReadAsync(command, cancellationToken)).FirstOrDefault();
    }

    public async Task<WebhookDelivery?> FindAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null, $"SELECT {Columns} FROM webhook_deliveries WHERE id = @id", ("id", id));
        return (await ReadAsync(command, cancellationToken)).FirstOrDefault();
    }

    /// <summary>Deliveries still pending whose attempt was due before <paramref name="before"/>: their job was lost (a restart of an in-memory job store).</summary>
    public async Task<IReadOnlyList<WebhookDelivery>> OverdueAsync(DateTimeOffset before, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            $"SELECT {Columns} FROM webhook_deliveries WHERE state = '{Pending}' AND next_attempt_at < @before ORDER BY id LIMIT @limit",
            ("before", before.ToUnixTimeMilliseconds()), ("limit", limit));
        return await ReadAsync(command, cancellationToken);
    }

    /// <summary>How many of the owner's deliveries are still being tried.</summary>
    public async Task<long> PendingCountAsync(string owner, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null, $"SELECT COUNT(*) FROM webhook_deliveries WHERE owner = @owner AND state = '{Pending}'", ("owner", owner));
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The newest deliveries of one owner, or of every owner when <paramref name="owner"/> is null.</summary>
    public async Task<IReadOnlyList<WebhookDelivery>> ListAsync(string? owner, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = owner is null
            ? connection.CreateCommand(null, $"SELECT {Columns} FROM webhook_deliveries ORDER BY id DESC LIMIT @limit", ("limit", limit))
            : connection.CreateCommand(null, $"SELECT {Columns} FROM webhook_deliveries WHERE owner = @owner ORDER BY id DESC LIMIT @limit", ("owner", owner), ("limit", limit));
        return await ReadAsync(command, cancellationToken);
    }

    /// <summary>Records one attempt: delivered, or failed with what happened and when the next is due (none: failed for good).</summary>
    public async Task RecordAttemptAsync(long id, bool delivered, int? status, string? error, DateTimeOffset? nextAttempt, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            """
            UPDATE webhook_deliveries SET attempts = attempts + 1, state = @state, last_status = @status, last_error = @error, updated_at = @now,
                next_attempt_at = @next, delivered_at = CASE WHEN @delivered = 1 THEN @now ELSE delivered_at END
            WHERE id = @id
            """,
            cancellationToken, ("state", delivered ? Delivered : nextAttempt is null ? Failed : Pending), ("status", status), ("error", error), ("now", now),
            ("next", nextAttempt?.ToUnixTimeMilliseconds()), ("delivered", delivered ? 1 : 0), ("id", id));
    }

    private static async Task<IReadOnlyList<WebhookDelivery>> ReadAsync(DbCommand command, CancellationToken cancellationToken)
    {
        static DateTimeOffset? At(long? ms) => ms is { } value ? DateTimeOffset.FromUnixTimeMilliseconds(value) : null;
        var deliveries = new List<WebhookDelivery>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            deliveries.Add(new WebhookDelivery(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                reader.GetInt32(6), reader.GetNullableInt64(7) is { } status ? (int)status : null, reader.GetNullableString(8),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(9)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(10)),
                At(reader.GetNullableInt64(11)), At(reader.GetNullableInt64(12))));
        }
        return deliveries;
    }
}
