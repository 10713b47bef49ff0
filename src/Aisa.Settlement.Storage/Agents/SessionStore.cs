namespace Aisa.Settlement.Storage.Agents;

public enum SessionSubject
{
    Agent,
    Publisher,
}

/// <summary>Session tokens live in the database, so every service instance accepts them (no per-process state).</summary>
public sealed class SessionStore(SqlDatabase database, TimeProvider clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    public async Task<DateTimeOffset> CreateAsync(string tokenHash, SessionSubject subject, long subjectId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var expires = now + Lifetime;
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "INSERT INTO sessions (token_hash, subject_kind, subject_id, expires_at, created_at) VALUES (@hash, @kind, @id, @expires, @now)",
            cancellationToken,
            ("hash", tokenHash), ("kind", subject.ToString()), ("id", subjectId), ("expires", expires.ToUnixTimeMilliseconds()), ("now", now.ToUnixTimeMilliseconds()));
        return expires;
    }

    /// <summary>Ends a session of this kind (a logout): its token is refused from now on. False when there was none.</summary>
    public async Task<bool> EndAsync(string tokenHash, SessionSubject subject, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null, "DELETE FROM sessions WHERE token_hash = @hash AND subject_kind = @kind",
            cancellationToken, ("hash", tokenHash), ("kind", subject.ToString())) == 1;
    }

    /// <summary>Deletes the sessions that expired before <paramref name="before"/>, in batches; returns how many.</summary>
    public async Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.DeleteInBatchesAsync("sessions", "token_hash", "expires_at < @before", cancellationToken, ("before", before.ToUnixTimeMilliseconds()));
    }

    /// <summary>The subject of an unexpired session of this kind, or null.</summary>
    public async Task<long?> FindSubjectAsync(string tokenHash, SessionSubject subject, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "SELECT subject_id FROM sessions WHERE token_hash = @hash AND subject_kind = @kind AND expires_at > @now",
            ("hash", tokenHash), ("kind", subject.ToString()), ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()));
        return await command.ExecuteScalarAsync(cancellationToken) is { } id and not DBNull ? Convert.ToInt64(id, System.Globalization.CultureInfo.InvariantCulture) : null;
    }
}
