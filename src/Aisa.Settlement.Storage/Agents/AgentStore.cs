using System.Data.Common;
using System.Text.Json;
using Aisa.Settlement.Guard;
using Aisa.Settlement.Ledger;

namespace Aisa.Settlement.Storage.Agents;

public sealed record Agent(
    long Id,
    Guid CrawlerUuid,
    string Email,
    string PasswordHash,
    string? Name,
    string? CrawlerType,
    string? UserAgent,
    string? CompanyName,
    AccountId Wallet,
    bool Disabled,
    DateTimeOffset CreatedAt,
    GuardPolicy Guard);

public sealed record NewAgent(string Email, string PasswordHash, string? Name, string? CrawlerType, string? UserAgent, string? CompanyName, string TokenHash);

public sealed class AgentStore(SqlDatabase database, ILedger ledger, TimeProvider clock)
{
    private const string Columns = "id, crawler_uuid, email, password_hash, name, crawler_type, user_agent, company_name, wallet_account_id, disabled, created_at, guard_policy";

    /// <summary>Registers an agent with its wallet; null when the email is taken.</summary>
    public async Task<Agent?> RegisterAsync(NewAgent agent, CancellationToken cancellationToken)
    {
        var uuid = Guid.NewGuid();
        // The wallet is opened first under a code of its own; an email taken meanwhile leaves an empty, unused wallet.
        var wallet = await ledger.OpenAccountAsync(AccountCodes.AgentWallet(uuid.ToString()), AccountKind.AgentWallet, cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand(null,
                $"""
                INSERT INTO agents (crawler_uuid, email, password_hash, name, crawler_type, user_agent, company_name, wallet_account_id, token_hash, disabled, created_at)
                VALUES (@uuid, @email, @passwordHash, @name, @crawlerType, @userAgent, @companyName, @wallet, @tokenHash, @disabled, @createdAt)
                ON CONFLICT (email) DO NOTHING
                RETURNING {Columns}
                """,
                ("uuid", uuid.ToString()), ("email", agent.Email), ("passwordHash", agent.PasswordHash), ("name", agent.Name),
                ("crawlerType", agent.CrawlerType), ("userAgent", agent.UserAgent), ("companyName", agent.CompanyName),
                ("wallet", wallet.Id.Value), ("tokenHash", agent.TokenHash), ("disabled", false), ("createdAt", clock.GetUtcNow().ToUnixTimeMilliseconds()));
            return await ReadOneAsync(command, cancellationToken);
        }
        catch (DbException e) when (database.IsUniqueViolation(e))
        {
            return null;
        }
    }

    public Task<Agent?> FindByEmailAsync(string email, CancellationToken cancellationToken) =>
        FindAsync("email = @value", email, cancellationToken);

    public Task<Agent?> FindByIdAsync(long id, CancellationToken cancellationToken) =>
        FindAsync("id = @value", id, cancellationToken);

    /// <summary>
    /// The agent a crawler token belongs to. No cache: every lookup reads the table after it was asked, so a rotated
    /// token stops at once everywhere. Lookups asked at the same time share one query (every verify makes one).
    /// </summary>
    public Task<Agent?> FindByTokenHashAsync(string tokenHash, CancellationToken cancellationToken) =>
        _tokenLookups.RunAsync(tokenHash).WaitAsync(cancellationToken);

    private const int MaxTokensPerLookup = 128;

    private readonly Coalescer<string, Agent?> _tokenLookups = new(maxConcurrent: 2, MaxTokensPerLookup, async group =>
    {
        var hashes = group.Select(p => p.Item).Distinct(StringComparer.Ordinal).ToList();
        var names = hashes.Select((_, i) => "h" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var found = new Dictionary<string, Agent>(StringComparer.Ordinal);
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        await using (var command = connection.CreateCommand(null,
            $"SELECT {Columns}, token_hash FROM agents WHERE token_hash IN ({string.Join(", ", names.Select(n => "@" + n))})",
            names.Select((name, i) => (name, (object?)hashes[i])).ToArray()))
        await using (var reader = await command.ExecuteReaderAsync(CancellationToken.None))
        {
            while (await reader.ReadAsync(CancellationToken.None))
            {
                found[reader.GetString(12)] = ReadAgent(reader);
            }
        }
        foreach (var pending in group)
        {
            pending.Completion.SetResult(found.GetValueOrDefault(pending.Item));
        }
    });

    /// <summary>Replaces the crawler token; the old one stops working with this statement's commit.</summary>
    public async Task<bool> RotateTokenAsync(long agentId, string newTokenHash, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null, "UPDATE agents SET token_hash = @hash WHERE id = @id", cancellationToken, ("hash", newTokenHash), ("id", agentId)) == 1;
    }

    /// <summary>Replaces the crawler's policy; verifies read it with the agent from the next lookup on, on every instance.</summary>
    public async Task<bool> SetGuardAsync(long agentId, GuardPolicy policy, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null, "UPDATE agents SET guard_policy = @policy WHERE id = @id", cancellationToken,
            ("policy", policy.IsEmpty ? null : JsonSerializer.Serialize(policy, PolicyJson)), ("id", agentId)) == 1;
    }

    private static readonly JsonSerializerOptions PolicyJson = new(JsonSerializerDefaults.Web);

    private async Task<Agent?> FindAsync(string condition, object value, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null, $"SELECT {Columns} FROM agents WHERE {condition}", ("value", value));
        return await ReadOneAsync(command, cancellationToken);
    }

    private static async Task<Agent?> ReadOneAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadAgent(reader) : null;
    }

    private static Agent ReadAgent(DbDataReader reader) =>
        new(
            reader.GetInt64(0),
            Guid.Parse(reader.GetString(1)),
            reader.GetString(2),
            reader.GetString(3),
            reader.GetNullableString(4),
            reader.GetNullableString(5),
            reader.GetNullableString(6),
            reader.GetNullableString(7),
            new AccountId(reader.GetInt64(8)),
            reader.GetBoolean(9),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(10)),
            reader.GetNullableString(11) is { } policy ? JsonSerializer.Deserialize<GuardPolicy>(policy, PolicyJson)! : GuardPolicy.None);
}
