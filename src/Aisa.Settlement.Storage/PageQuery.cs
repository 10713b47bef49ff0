namespace Aisa.Settlement.Storage;

/// <summary>
/// A newest-first page of rows: the filters that were given (a filter left null is no condition), the rows before an id,
/// at most a limit. One way for every list an API pages through.
/// </summary>
public sealed class PageQuery(long? beforeId, int limit)
{
    private readonly List<string> _conditions = ["1 = 1"];
    private readonly List<(string, object?)> _parameters = [("limit", limit)];

    /// <summary>Adds <c>column = @column</c> when <paramref name="value"/> is given.</summary>
    public PageQuery Equal(string column, object? value)
    {
        if (value is not null)
        {
            _conditions.Add($"{column} = @{column}");
            _parameters.Add((column, value));
        }
        return this;
    }

    /// <summary>The condition, order and limit after <c>WHERE</c>, and their parameters.</summary>
    public (string Sql, (string, object?)[] Parameters) Build()
    {
        var conditions = beforeId is { } before ? [.. _conditions, "id < @before"] : _conditions;
        var parameters = beforeId is { } id ? [.. _parameters, ("before", (object?)id)] : _parameters;
        return ($"{string.Join(" AND ", conditions)} ORDER BY id DESC LIMIT @limit", [.. parameters]);
    }
}
