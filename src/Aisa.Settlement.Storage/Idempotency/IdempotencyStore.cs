using System.Text.Json;

namespace Aisa.Settlement.Storage.Idempotency;

/// <summary>A response as it went out, to be sent again byte for byte.</summary>
public sealed record StoredResponse(int StatusCode, IReadOnlyDictionary<string, string> Headers, byte[] Body);

public abstract record IdempotencyClaim
{
    /// <summary>
    /// This request owns the key: run it under <paramref name="OperationId"/>, then complete or release the claim. The id
    /// names what the request moves (its ledger keys): the same for every retry while the key is remembered.
    /// </summary>
    public sealed record Owned(string OperationId) : IdempotencyClaim;

    /// <summary>The key answered before: send the same answer.</summary>
    public sealed record Replay(StoredResponse Response) : IdempotencyClaim;

    /// <summary>The key is being answered by another request right now.</summary>
    public sealed record InProgress : IdempotencyClaim;

    /// <summary>The key was used for a different request.</summary>
    public sealed record Mismatch : IdempotencyClaim;
}

/// <summary>
/// Stored answers to requests sent with an <c>Idempotency-Key</c>, per caller scope, kept 24 hours. The primary
/// key (scope, key) makes one request the owner, also across service instances. Each remembered key carries the
/// operation id its request moves money under, drawn when the key is first claimed: retries and takeovers reuse it,
/// and a key claimed again after the retention is a new operation.
/// </summary>
public sealed class IdempotencyStore(SqlDatabase database, TimeProvider clock)
{
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    /// <summary>A claim unanswered this long belonged to a request that died; a retry of the same request may take it over.</summary>
    public static readonly TimeSpan Abandoned = TimeSpan.FromMinutes(2);

    /// <summary><c>claimed_at</c> of a claim its request gave back: a retry takes it at once.</summary>
    private const long Released = 0;

    public async Task<IdempotencyClaim> ClaimAsync(string scope, string key, string requestHash, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        // The common case, a new key, costs one statement; the rest runs only when the key is remembered.
        if (await InsertAsync(connection, scope, key, requestHash, nowMs, cancellationToken) is { } fresh)
        {
            return new IdempotencyClaim.Owned(fresh);
        }
        // Past the retention the key is forgotten, answered or not: a request with it now is a new operation. And a
        // different request after a failed one (5xx answers are not kept) finds the key free again. A claim whose request
        // died without answering stays bound to that request until the retention ends.
        var forgotten = await connection.ExecuteAsync(null,
            """
            DELETE FROM idempotent_requests WHERE scope = @scope AND key = @key
            AND (created_at < @expired OR (status_code IS NULL AND claimed_at = @released AND request_hash <> @hash))
            """,
            cancellationToken, ("scope", scope), ("key", key), ("expired", (now - Retention).ToUnixTimeMilliseconds()), ("released", Released), ("hash", requestHash));
        if (forgotten == 1 && await InsertAsync(connection, scope, key, requestHash, nowMs, cancellationToken) is { } renewed)
        {
            return new IdempotencyClaim.Owned(renewed);
        }
        // The same request again after its first run gave the claim back or died: it goes on under the same operation,
        // so whatever the first run moved before it failed is found, never moved twice. One statement: one taker wins.
        await using (var takeOver = connection.CreateCommand(null,
            """
            UPDATE idempotent_requests SET claimed_at = @now
            WHERE scope = @scope AND key = @key AND status_code IS NULL AND request_hash = @hash AND COALESCE(claimed_at, created_at) < @abandoned
            RETURNING operation_id
            """,
            ("now", nowMs), ("scope", scope), ("key", key), ("hash", requestHash), ("abandoned", (now - Abandoned).ToUnixTimeMilliseconds())))
        await using (var reader = await takeOver.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                return new IdempotencyClaim.Owned(reader.IsDBNull(0) ? LegacyOperationId(scope, key) : reader.GetString(0));
            }
        }
        await using var command = connection.CreateCommand(null,
            "SELECT request_hash, status_code, headers, body FROM idempotent_requests WHERE scope = @scope AND key = @key",
            ("scope", scope), ("key", key));
        await using var found = await command.ExecuteReaderAsync(cancellationToken);
        if (!await found.ReadAsync(cancellationToken))
        {
            // Deleted meanwhile: the caller tries again.
            return new IdempotencyClaim.InProgress();
        }
        if (found.GetString(0) != requestHash)
        {
            return new IdempotencyClaim.Mismatch();
        }
        if (found.IsDBNull(1))
        {
            return new IdempotencyClaim.InProgress();
        }
        var headers = JsonSerializer.Deserialize<Dictionary<string, string>>(found.GetString(2)) ?? [];
        return new IdempotencyClaim.Replay(new StoredResponse(found.GetInt32(1), headers, (byte[])found.GetValue(3)));
    }

    /// <summary>Claims a key nobody holds, under a new operation id; null when the key is remembered.</summary>
    private static async Task<string?> InsertAsync(System.Data.Common.DbConnection connection, string scope, string key, string requestHash, long now, CancellationToken cancellationToken)
    {
        var operationId = Guid.NewGuid().ToString("N");
        return await connection.ExecuteAsync(null,
            """
            INSERT INTO idempotent_requests (scope, key, request_hash, created_at, claimed_at, operation_id)
            VALUES (@scope, @key, @hash, @now, @now, @operation) ON CONFLICT DO NOTHING
            """,
            cancellationToken, ("scope", scope), ("key", key), ("hash", requestHash), ("now", now), ("operation", operationId)) == 1 ? operationId : null;
    }

    /// <summary>The operation id of a key claimed before ids were stored: derived from the key, as it was then.</summary>
    public static string LegacyOperationId(string scope, string key) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(scope + "\n" + key)))[..32];

    public async Task CompleteAsync(string scope, string key, StoredResponse response, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "UPDATE idempotent_requests SET status_code = @status, headers = @headers, body = @body, completed_at = @now WHERE scope = @scope AND key = @key",
            cancellationToken,
            ("status", response.StatusCode), ("headers", JsonSerializer.Serialize(response.Headers)), ("body", response.Body),
            ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()), ("scope", scope), ("key", key));
    }

    /// <summary>
    /// Gives an unanswered claim back (a 5xx, a failure of the handler), so that a retry runs again: the same request under
    /// the same operation id, a different one as a new operation.
    /// </summary>
    public async Task ReleaseAsync(string scope, string key, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, "UPDATE idempotent_requests SET claimed_at = @released WHERE scope = @scope AND key = @key AND status_code IS NULL",
            cancellationToken, ("released", Released), ("scope", scope), ("key", key));
    }

    /// <summary>Forgets every key claimed before <paramref name="before"/>, in batches; returns how many.</summary>
    public async Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.DeleteInBatchesAsync("idempotent_requests", "scope, key", "created_at < @before", cancellationToken, ("before", before.ToUnixTimeMilliseconds()));
    }
}
