using System.Globalization;

namespace Aisa.Settlement.Storage.Pricing;

public sealed record TimePass(long Sequence, DateTimeOffset ExpiresAt);

/// <summary>
/// Hourly passes. Pass n of an agent for a rule is paid by the ledger transfer with the key
/// <c>pass:hour:&lt;agent&gt;:&lt;rule&gt;:&lt;n&gt;</c>, so two verifies racing to buy pass n charge once; this
/// table only remembers when each pass ends.
/// </summary>
public sealed class TimePassStore(SqlDatabase database)
{
    public async Task<TimePass?> LatestAsync(long agentId, long ruleId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            "SELECT seq, expires_at FROM time_passes WHERE agent_id = @agent AND rule_id = @rule ORDER BY seq DESC LIMIT 1",
            ("agent", agentId), ("rule", ruleId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new TimePass(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)))
            : null;
    }

    public async Task RecordAsync(long agentId, long ruleId, TimePass pass, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null,
            "INSERT INTO time_passes (agent_id, rule_id, seq, expires_at) VALUES (@agent, @rule, @seq, @expires) ON CONFLICT DO NOTHING",
            cancellationToken, ("agent", agentId), ("rule", ruleId), ("seq", pass.Sequence), ("expires", pass.ExpiresAt.ToUnixTimeMilliseconds()));
    }

    public static string TransferKey(long agentId, long ruleId, long sequence) =>
        string.Create(CultureInfo.InvariantCulture, $"pass:hour:{agentId}:{ruleId}:{sequence}");
}
