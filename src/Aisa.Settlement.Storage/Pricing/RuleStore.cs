using System.Data.Common;
using Aisa.Settlement.Money;
using Aisa.Settlement.Pricing;

namespace Aisa.Settlement.Storage.Pricing;

public sealed record RuleDraft(string UrlPattern, AccessMode AccessMode, Micros Price, BillingType BillingType, string? CrawlerType);

public sealed class RuleStore(SqlDatabase database, TimeProvider clock)
{
    private const string Columns = "id, publisher_id, url_pattern, access_mode, price, billing_type, crawler_type, created_at, updated_at";

    public async Task<PricingRule> CreateAsync(long publisherId, RuleDraft draft, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            $"""
            INSERT INTO pricing_rules (publisher_id, url_pattern, access_mode, price, billing_type, crawler_type, created_at, updated_at)
            VALUES (@publisher, @pattern, @mode, @price, @billing, @crawlerType, @now, @now)
            RETURNING {Columns}
            """,
            ("publisher", publisherId), ("pattern", draft.UrlPattern), ("mode", draft.AccessMode.ToWire()), ("price", draft.Price.Value),
            ("billing", draft.BillingType.ToWire()), ("crawlerType", draft.CrawlerType), ("now", now));
        return (await ReadAllAsync(command, cancellationToken))[0];
    }

    /// <summary>Replaces a rule's terms; null when the publisher has no such rule.</summary>
    public async Task<PricingRule?> UpdateAsync(long publisherId, long ruleId, RuleDraft draft, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            $"""
            UPDATE pricing_rules SET url_pattern = @pattern, access_mode = @mode, price = @price, billing_type = @billing, crawler_type = @crawlerType, updated_at = @now
            WHERE id = @id AND publisher_id = @publisher AND deleted_at IS NULL
            RETURNING {Columns}
            """,
            ("pattern", draft.UrlPattern), ("mode", draft.AccessMode.ToWire()), ("price", draft.Price.Value), ("billing", draft.BillingType.ToWire()),
            ("crawlerType", draft.CrawlerType), ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()), ("id", ruleId), ("publisher", publisherId));
        return (await ReadAllAsync(command, cancellationToken)).FirstOrDefault();
    }

    /// <summary>Retires a rule (kept, for the charges that name it); false when the publisher has no such rule.</summary>
    public async Task<bool> DeleteAsync(long publisherId, long ruleId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null,
            "UPDATE pricing_rules SET deleted_at = @now WHERE id = @id AND publisher_id = @publisher AND deleted_at IS NULL",
            cancellationToken, ("now", clock.GetUtcNow().ToUnixTimeMilliseconds()), ("id", ruleId), ("publisher", publisherId)) == 1;
    }

    public async Task<IReadOnlyList<PricingRule>> ListAsync(long publisherId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand(null,
            $"SELECT {Columns} FROM pricing_rules WHERE publisher_id = @publisher AND deleted_at IS NULL ORDER BY id", ("publisher", publisherId));
        return await ReadAllAsync(command, cancellationToken);
    }

    private static async Task<List<PricingRule>> ReadAllAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var rules = new List<PricingRule>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            PricingNames.TryParseAccessMode(reader.GetString(3), out var mode);
            PricingNames.TryParseBillingType(reader.GetString(5), out var billing);
            // Normalised again as it is read: a rule stored before patterns were normalised matches as it would now.
            rules.Add(new PricingRule(reader.GetInt64(0), reader.GetInt64(1), PricingRule.NormalizePattern(reader.GetString(2)), mode, new Micros(reader.GetInt64(4)), billing,
                reader.GetNullableString(6), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8))));
        }
        return rules;
    }
}
