using System.Text.Json;

namespace Aisa.Settlement.Storage.Idempotency;

/// <summary>A response as it went out, to be sent again byte for byte.</summary>
public sealed record StoredResponse(int StatusCode, IReadOnlyDictionary<string, string> Headers, byte[] Body);

public abstract record IdempotencyClaim
{
    /// <summary>This request owns the key: run it, then complete or release the claim.</summary>
    public sealed record Owned : IdempotencyClaim;

    /// <summary>The key answered before: send the same answer.</summary>
    public sealed record Replay(StoredResponse Response) : IdempotencyClaim;

    /// <summary>The key is being answered by another request right now.</summary>
    public sealed record InProgress : IdempotencyClaim;

    /// <summary>The key was used for a different request.</summary>
    public sealed record Mismatch : IdempotencyClaim;
}

/// <summary>
/// Stored answers to requests sent with an <c>Idempotency-Key</c>, per caller scope, kept 24 hours. The primary
/// key (scope, key) makes one request the owner, also across service instances.
/// </summary>
public sealed class IdempotencyStore(SqlDatabase database, TimeProvider clock)
{
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    /// <summary>A claim unanswered this long belonged to a request that died; a retry may take it over.</summary>
    public static readonly TimeSpan Abandoned = TimeSpan.FromMinutes(2);

    public async Task<IdempotencyClaim> ClaimAsync(string scope, string key, string requestHash, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        // A record older than the retention is forgotten, as if the key were new; so is an abandoned claim.
        // Taking either over is safe for money: the ledger key of what the request moves derives from the key.
        await connection.ExecuteAsync(null,
            """
            DELETE FROM idempotent_requests WHERE scope = @scope AND key = @key
            AND (created_at < @expired OR (status_code IS NULL AND created_at < @abandoned))
            """,
            cancellationToken, ("scope", scope), ("key", key), ("expired", (now - Retention).ToUnixTimeMilliseconds()),
            ("abandoned", (now - Abandoned).ToUnixTimeMilliseconds()));
        var inserted = await connection.ExecuteAsync(null,
            "INSERT INTO idempotent_requests (scope, key, request_hash, created_at) VALUES (@scope, @key, @hash, @now) ON CONFLICT DO NOTHING",
            cancellationToken, ("scope", scope), ("key", key), ("hash", requestHash), ("now", now.ToUnixTimeMilliseconds()));
        if (inserted == 1)
        {
            return new IdempotencyClaim.Owned();
        }
        await using var command = connection.CreateCommand(null,
            "SELECT request_hash, status_code, headers, body FROM idempotent_requests WHERE scope = @scope AND key = @key",
            ("scope", scope), ("key", key));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            // Released between our insert and our read: the caller tries again.
            return new IdempotencyClaim.InProgress();
        }
        if (reader.GetString(0) != requestHash)
        {
            return new IdempotencyClaim.Mismatch();
        }
        if (reader.IsDBNull(1))
        {
            return new IdempotencyClaim.InProgress();
        }
        var headers = JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(2)) ?? [];
        return new IdempotencyClaim.Replay(new StoredResponse(reader.GetInt32(1), headers, (byte[])reader.GetValue(3)));
    }

    public async Task CompleteAsync(string scope, string key, StoredResponse response, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "UPDATE idempotent_requests SET status_code = @status, headers = @headers, body = @body, completed_at = @now WHERE scope = @scope AND key = @key",
            cancellationToken,
            ("status", response.StatusCode), ("headers", JsonSerializer.Serialize(response.Headers)), ("body", response.Body),
            ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()), ("scope", scope), ("key", key));
    }

    /// <summary>Forgets an unanswered claim (a 5xx, a crash of the handler), so that a retry runs again.</summary>
    public async Task ReleaseAsync(string scope, string key, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, "DELETE FROM idempotent_requests WHERE scope = @scope AND key = @key AND status_code IS NULL",
            cancellationToken, ("scope", scope), ("key", key));
    }
}
