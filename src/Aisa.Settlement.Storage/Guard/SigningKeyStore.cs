using System.Data.Common;

namespace Aisa.Settlement.Storage.Guard;

public sealed record SigningKey(string KeyId, long AgentId, string PublicKey, DateTimeOffset CreatedAt);

/// <summary>Crawlers' signing keys, and the nonces their signatures used: a nonce is taken once, by one insert, on any instance.</summary>
public sealed class SigningKeyStore(SqlDatabase database, TimeProvider clock)
{
    public const int MaxKeysPerAgent = 10;

    /// <summary>Registers the key; false when this key id is registered already (to this crawler or another).</summary>
    public async Task<bool> AddAsync(long agentId, string keyId, string publicKey, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null,
            "INSERT INTO signing_keys (key_id, agent_id, public_key, created_at) VALUES (@keyId, @agent, @publicKey, @now) ON CONFLICT (key_id) DO NOTHING",
            cancellationToken, ("keyId", keyId), ("agent", agentId), ("publicKey", publicKey), ("now", clock.GetUtcNow().ToUnixTimeMilliseconds())) == 1;
    }

    public async Task<IReadOnlyList<SigningKey>> ListAsync(long agentId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "SELECT key_id, agent_id, public_key, created_at FROM signing_keys WHERE agent_id = @agent ORDER BY created_at, key_id", ("agent", agentId));
        return await ReadAsync(command, cancellationToken);
    }

    public async Task<SigningKey?> FindAsync(long agentId, string keyId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "SELECT key_id, agent_id, public_key, created_at FROM signing_keys WHERE key_id = @keyId AND agent_id = @agent", ("keyId", keyId), ("agent", agentId));
        return (await ReadAsync(command, cancellationToken)).FirstOrDefault();
    }

    public async Task<bool> RemoveAsync(long agentId, string keyId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null, "DELETE FROM signing_keys WHERE key_id = @keyId AND agent_id = @agent", cancellationToken,
            ("keyId", keyId), ("agent", agentId)) == 1;
    }

    /// <summary>
    /// Takes the nonce for this key; false when a signature used it before. Nonces whose signature expired are dropped
    /// on the way: a replay of such a signature fails its window anyway.
    /// </summary>
    public async Task<bool> TakeNonceAsync(string keyId, string nonce, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        if (Random.Shared.Next(100) == 0)
        {
            await connection.ExecuteAsync(null, "DELETE FROM signature_nonces WHERE expires_at < @now", cancellationToken, ("now", now));
        }
        return await connection.ExecuteAsync(null,
            "INSERT INTO signature_nonces (key_id, nonce, expires_at) VALUES (@keyId, @nonce, @expires) ON CONFLICT (key_id, nonce) DO NOTHING",
            cancellationToken, ("keyId", keyId), ("nonce", nonce), ("expires", expires.ToUnixTimeMilliseconds())) == 1;
    }

    private static async Task<IReadOnlyList<SigningKey>> ReadAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var keys = new List<SigningKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(new SigningKey(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
        }
        return keys;
    }
}
