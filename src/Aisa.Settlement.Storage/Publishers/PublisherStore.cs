using System.Data.Common;
using System.Security.Cryptography;
using Aisa.Settlement.Ledger;

namespace Aisa.Settlement.Storage.Publishers;

/// <param name="DomainVerifiedBy">How it was shown the publisher controls its domain (well-known, operator, unchecked, before-domain-proof); null: not yet.</param>
public sealed record Publisher(long Id, string Email, string PasswordHash, string? Name, string Domain, AccountId Payable, DateTimeOffset CreatedAt,
    DateTimeOffset? DomainVerifiedAt = null, string? DomainVerifiedBy = null)
{
    public bool DomainVerified => DomainVerifiedAt is not null;
}

public enum DomainClaim
{
    Verified,
    AlreadyVerified,
    /// <summary>Another publisher proved this domain first.</summary>
    TakenByAnother,
}

public sealed class PublisherStore(SqlDatabase database, ILedger ledger, TimeProvider clock)
{
    private const string Columns = "id, email, password_hash, name, domain, payable_account_id, created_at, domain_verified_at, domain_verified_by";

    /// <summary>
    /// Registers a publisher with its payable account; null when the email is taken, or the domain is proven by another
    /// publisher. <paramref name="verifiedBy"/> marks the domain proven at once (when domain proof is off).
    /// </summary>
    public async Task<Publisher?> RegisterAsync(string email, string passwordHash, string? name, string domain, string? verifiedBy, CancellationToken cancellationToken)
    {
        if (await FindVerifiedByDomainAsync(domain, cancellationToken) is not null)
        {
            return null;
        }
        var payable = await ledger.OpenAccountAsync(AccountCodes.PublisherPayable(Guid.NewGuid().ToString()), AccountKind.PublisherPayable, cancellationToken);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand(null,
                $"""
                INSERT INTO publishers (email, password_hash, name, domain, payable_account_id, created_at, domain_verified_at, domain_verified_by)
                VALUES (@email, @passwordHash, @name, @domain, @payable, @createdAt, @verifiedAt, @verifiedBy)
                RETURNING {Columns}
                """,
                ("email", email), ("passwordHash", passwordHash), ("name", name), ("domain", domain), ("payable", payable.Id.Value),
                ("createdAt", now), ("verifiedAt", verifiedBy is null ? null : now), ("verifiedBy", verifiedBy));
            return await ReadOneAsync(command, cancellationToken);
        }
        catch (DbException e) when (database.IsUniqueViolation(e))
        {
            return null;
        }
    }

    public Task<Publisher?> FindByEmailAsync(string email, CancellationToken cancellationToken) =>
        FindAsync("email = @value", email, cancellationToken);

    public Task<Publisher?> FindByIdAsync(long id, CancellationToken cancellationToken) =>
        FindAsync("id = @value", id, cancellationToken);

    /// <summary>
    /// The publisher whose domain or email this is (verify's <c>publisherDomain</c> takes either). Of several claiming a
    /// domain, the one that proved it; else the first to claim it.
    /// </summary>
    public Task<Publisher?> FindByDomainOrEmailAsync(string domainOrEmail, CancellationToken cancellationToken) =>
        domainOrEmail.Contains('@', StringComparison.Ordinal)
            ? FindAsync("email = @value", domainOrEmail, cancellationToken)
            : FindAsync("domain = @value ORDER BY CASE WHEN domain_verified_at IS NULL THEN 1 ELSE 0 END, id LIMIT 1", domainOrEmail, cancellationToken);

    private Task<Publisher?> FindVerifiedByDomainAsync(string domain, CancellationToken cancellationToken) =>
        FindAsync("domain = @value AND domain_verified_at IS NOT NULL", domain, cancellationToken);

    /// <summary>The token the publisher serves to prove its domain: made once, then the same.</summary>
    public async Task<string> DomainTokenAsync(long publisherId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, "UPDATE publishers SET domain_token = @token WHERE id = @id AND domain_token IS NULL", cancellationToken,
            ("token", "aisa-publisher-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24))), ("id", publisherId));
        await using var command = connection.CreateCommand(null, "SELECT domain_token FROM publishers WHERE id = @id", ("id", publisherId));
        return (string)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Marks the publisher's domain proven, unless another publisher proved it first (the unique index decides).</summary>
    public async Task<DomainClaim> VerifyDomainAsync(long publisherId, string verifiedBy, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        try
        {
            var changed = await connection.ExecuteAsync(null,
                "UPDATE publishers SET domain_verified_at = @now, domain_verified_by = @by WHERE id = @id AND domain_verified_at IS NULL", cancellationToken,
                ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()), ("by", verifiedBy), ("id", publisherId));
            return changed == 1 ? DomainClaim.Verified : DomainClaim.AlreadyVerified;
        }
        catch (DbException e) when (database.IsUniqueViolation(e))
        {
            return DomainClaim.TakenByAnother;
        }
    }

    private async Task<Publisher?> FindAsync(string condition, object value, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null, $"SELECT {Columns} FROM publishers WHERE {condition}", ("value", value));
        return await ReadOneAsync(command, cancellationToken);
    }

    private static async Task<Publisher?> ReadOneAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new Publisher(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetNullableString(3), reader.GetString(4),
            new AccountId(reader.GetInt64(5)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
            reader.GetNullableInt64(7) is { } verified ? DateTimeOffset.FromUnixTimeMilliseconds(verified) : null, reader.GetNullableString(8));
    }
}
