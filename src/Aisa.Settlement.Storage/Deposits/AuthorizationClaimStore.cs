using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;

namespace Aisa.Settlement.Storage.Deposits;

/// <summary>
/// Replay protection for signed authorizations (x402's EIP-3009 payments): an authorization is claimed in one statement before it is settled, so of two
/// requests carrying it (on any instance) one goes on and the other is refused. A failed settlement releases it.
/// </summary>
public sealed class AuthorizationClaimStore(SqlDatabase database, TimeProvider clock) : IAuthorizationClaims
{
    public async Task<bool> TryClaimAsync(AuthorizationClaim claim, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null,
            """
            INSERT INTO x402_authorizations (network, payer, nonce, agent_id, asset, value, valid_before, amount, state, created_at, updated_at)
            VALUES (@network, @payer, @nonce, @agent, @asset, @value, @validBefore, @amount, 'settling', @now, @now) ON CONFLICT DO NOTHING
            """,
            cancellationToken, ("network", claim.Network), ("payer", claim.Payer), ("nonce", claim.Nonce), ("agent", claim.AgentId), ("asset", claim.Asset),
            ("value", claim.Value), ("validBefore", claim.ValidBefore), ("amount", claim.Amount.Value), ("now", now)) == 1;
    }

    /// <summary>Claims still settling that were made before <paramref name="before"/>: their settlement's answer was lost.</summary>
    public async Task<IReadOnlyList<AuthorizationClaim>> UnresolvedAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "SELECT network, payer, nonce, agent_id, asset, value, valid_before, amount, state, created_at FROM x402_authorizations WHERE state = 'settling' AND created_at < @before ORDER BY created_at",
            ("before", before.ToUnixTimeMilliseconds()));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var claims = new List<AuthorizationClaim>();
        while (await reader.ReadAsync(cancellationToken))
        {
            claims.Add(new AuthorizationClaim(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetNullableInt64(3), reader.GetString(4), reader.GetString(5),
                reader.GetInt64(6), new Micros(reader.GetInt64(7)), reader.GetString(8), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(9))));
        }
        return claims;
    }

    /// <summary>A claim the chain says never settled and never can (its validity ended): closed, never credited.</summary>
    public async Task ExpireAsync(AuthorizationClaim claim, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "UPDATE x402_authorizations SET state = 'expired', updated_at = @now WHERE network = @network AND payer = @payer AND nonce = @nonce AND state = 'settling'",
            cancellationToken, ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()), ("network", claim.Network), ("payer", claim.Payer), ("nonce", claim.Nonce));
    }

    /// <summary>
    /// A claim whose authorization the chain shows moved something else than claimed (another amount, to someone else):
    /// closed for good with what the chain showed; nothing is ever credited for it.
    /// </summary>
    public async Task MismatchedAsync(AuthorizationClaim claim, string transaction, string evidence, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "UPDATE x402_authorizations SET state = 'mismatched', tx_hash = @tx, evidence = @evidence, updated_at = @now WHERE network = @network AND payer = @payer AND nonce = @nonce AND state = 'settling'",
            cancellationToken, ("tx", transaction), ("evidence", evidence), ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()),
            ("network", claim.Network), ("payer", claim.Payer), ("nonce", claim.Nonce));
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
