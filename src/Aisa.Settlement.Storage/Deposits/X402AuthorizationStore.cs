using Aisa.Settlement.Money;

namespace Aisa.Settlement.Storage.Deposits;

/// <summary>
/// Replay protection for x402: an authorization is claimed in one statement before it is settled, so of two
/// requests carrying it (on any instance) one goes on and the other is refused. A failed settlement releases it.
/// </summary>
public sealed class X402AuthorizationStore(SqlDatabase database, TimeProvider clock)
{
    public async Task<bool> TryClaimAsync(string network, string payer, string nonce, long? agentId, Micros amount, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null,
            """
            INSERT INTO x402_authorizations (network, payer, nonce, agent_id, amount, state, created_at, updated_at)
            VALUES (@network, @payer, @nonce, @agent, @amount, 'settling', @now, @now) ON CONFLICT DO NOTHING
            """,
            cancellationToken, ("network", network), ("payer", payer), ("nonce", nonce), ("agent", agentId), ("amount", amount.Value), ("now", now)) == 1;
    }

    public async Task ReleaseAsync(string network, string payer, string nonce, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "DELETE FROM x402_authorizations WHERE network = @network AND payer = @payer AND nonce = @nonce AND state = 'settling'",
            cancellationToken, ("network", network), ("payer", payer), ("nonce", nonce));
    }

    public async Task SettledAsync(string network, string payer, string nonce, string transaction, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "UPDATE x402_authorizations SET state = 'settled', tx_hash = @tx, updated_at = @now WHERE network = @network AND payer = @payer AND nonce = @nonce",
            cancellationToken, ("tx", transaction), ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()), ("network", network), ("payer", payer), ("nonce", nonce));
    }
}
