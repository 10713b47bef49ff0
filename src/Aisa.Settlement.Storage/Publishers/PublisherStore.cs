using System.Data.Common;
using Aisa.Settlement.Ledger;

namespace Aisa.Settlement.Storage.Publishers;

public sealed record Publisher(long Id, string Email, string PasswordHash, string? Name, string Domain, AccountId Payable, DateTimeOffset CreatedAt);

public sealed class PublisherStore(SqlDatabase database, ILedger ledger, TimeProvider clock)
{
    private const string Columns = "id, email, password_hash, name, domain, payable_account_id, created_at";

    /// <summary>Registers a publisher with its payable account; null when the email or the domain is taken.</summary>
    public async Task<Publisher?> RegisterAsync(string email, string passwordHash, string? name, string domain, CancellationToken cancellationToken)
    {
        var payable = await ledger.OpenAccountAsync(AccountCodes.PublisherPayable(Guid.NewGuid().ToString()), AccountKind.PublisherPayable, cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand(null,
                $"""
                INSERT INTO publishers (email, password_hash, name, domain, payable_account_id, created_at)
                VALUES (@email, @passwordHash, @name, @domain, @payable, @createdAt)
                RETURNING {Columns}
                """,
                ("email", email), ("passwordHash", passwordHash), ("name", name), ("domain", domain), ("payable", payable.Id.Value),
                ("createdAt", clock.GetUtcNow().ToUnixTimeMilliseconds()));
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

    /// <summary>The publisher whose domain or email this is (verify's <c>publisherDomain</c> takes either).</summary>
    public Task<Publisher?> FindByDomainOrEmailAsync(string domainOrEmail, CancellationToken cancellationToken) =>
        FindAsync(domainOrEmail.Contains('@', StringComparison.Ordinal) ? "email = @value" : "domain = @value", domainOrEmail, cancellationToken);

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
            new AccountId(reader.GetInt64(5)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)));
    }
}
