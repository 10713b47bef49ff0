using System.Data.Common;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Storage.Guard;

public enum ApprovalState
{
    Pending,
    Approved,
    Declined,
    Used,
    Expired,
}

/// <summary>A charge above the crawler's approval threshold, waiting for (or decided by) its owner.</summary>
public sealed record Approval(
    string Id,
    long AgentId,
    long PublisherId,
    string PublisherDomain,
    string Resource,
    Micros Price,
    ApprovalState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DecidedAt,
    DateTimeOffset? UsedAt,
    string? TransferKey);

/// <summary>
/// Approvals: one open (pending or approved) per crawler, publisher, resource and price, so verifies racing for the
/// same charge share one; every move is a conditional update on the state it starts from.
/// </summary>
public sealed class ApprovalStore(SqlDatabase database, TimeProvider clock)
{
    private const string Columns =
        "a.id, a.agent_id, a.publisher_id, p.domain, a.resource, a.price, a.state, a.created_at, a.decided_at, a.used_at, a.transfer_key";

    private const string From = "approvals a JOIN publishers p ON p.id = a.publisher_id";

    public async Task<Approval?> LatestAsync(long agentId, long publisherId, string resource, Micros price, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            $"""
            SELECT {Columns} FROM {From}
            WHERE a.agent_id = @agent AND a.publisher_id = @publisher AND a.resource = @resource AND a.price = @price
            ORDER BY a.created_at DESC, a.id LIMIT 1
            """,
            ("agent", agentId), ("publisher", publisherId), ("resource", resource), ("price", price.Value));
        return (await ReadAsync(command, cancellationToken)).FirstOrDefault();
    }

    /// <summary>The open approval of this charge: the one opened now, or the one another verify opened first.</summary>
    public async Task<(Approval Approval, bool Opened)> OpenAsync(long agentId, long publisherId, string resource, Micros price, CancellationToken cancellationToken)
    {
        var id = "apr_" + Guid.NewGuid().ToString("N");
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            await connection.ExecuteAsync(null,
                """
                INSERT INTO approvals (id, agent_id, publisher_id, resource, price, state, created_at)
                VALUES (@id, @agent, @publisher, @resource, @price, 'pending', @now)
                ON CONFLICT (agent_id, publisher_id, resource, price) WHERE state IN ('pending', 'approved') DO NOTHING
                """,
                cancellationToken, ("id", id), ("agent", agentId), ("publisher", publisherId), ("resource", resource), ("price", price.Value),
                ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()));
        }
        var open = await LatestAsync(agentId, publisherId, resource, price, cancellationToken)
            ?? throw new InvalidOperationException("An approval vanished as it was opened.");
        return (open, open.Id == id);
    }

    public async Task<Approval?> FindAsync(long agentId, string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null, $"SELECT {Columns} FROM {From} WHERE a.id = @id AND a.agent_id = @agent", ("id", id), ("agent", agentId));
        return (await ReadAsync(command, cancellationToken)).FirstOrDefault();
    }

    /// <summary>The crawler's approvals, newest first; <paramref name="state"/> filters.</summary>
    public async Task<IReadOnlyList<Approval>> ListAsync(long agentId, ApprovalState? state, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            $"SELECT {Columns} FROM {From} WHERE a.agent_id = @agent {(state is null ? "" : "AND a.state = @state")} ORDER BY a.created_at DESC, a.id LIMIT @limit",
            ("agent", agentId), ("state", state is { } filter ? Wire(filter) : ""), ("limit", limit));
        return await ReadAsync(command, cancellationToken);
    }

    /// <summary>Moves an approval from one state to another; false when it was not in <paramref name="from"/> (decided, used or expired meanwhile).</summary>
    public async Task<bool> MoveAsync(string id, ApprovalState from, ApprovalState to, string? transferKey, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null,
            """
            UPDATE approvals SET state = @to,
                decided_at = CASE WHEN @to IN ('approved', 'declined') THEN @now ELSE decided_at END,
                used_at = CASE WHEN @to = 'used' THEN @now ELSE used_at END,
                transfer_key = COALESCE(@transferKey, transfer_key)
            WHERE id = @id AND state = @from
            """,
            cancellationToken, ("id", id), ("from", Wire(from)), ("to", Wire(to)), ("now", now), ("transferKey", transferKey)) == 1;
    }

    private static string Wire(ApprovalState state) => state.ToString().ToLowerInvariant();

    private static async Task<IReadOnlyList<Approval>> ReadAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var approvals = new List<Approval>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            approvals.Add(new Approval(
                reader.GetString(0),
                reader.GetInt64(1),
                reader.GetInt64(2),
                reader.GetString(3),
                reader.GetString(4),
                new Micros(reader.GetInt64(5)),
                Enum.Parse<ApprovalState>(reader.GetString(6), ignoreCase: true),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
                reader.GetNullableInt64(8) is { } decided ? DateTimeOffset.FromUnixTimeMilliseconds(decided) : null,
                reader.GetNullableInt64(9) is { } used ? DateTimeOffset.FromUnixTimeMilliseconds(used) : null,
                reader.GetNullableString(10)));
        }
        return approvals;
    }
}
