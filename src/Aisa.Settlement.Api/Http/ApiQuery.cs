using System.Globalization;

namespace Aisa.Settlement.Api.Http;

public static class ApiQuery
{
    /// <summary><c>limit</c> (1–200, default 50) and <c>before</c> (an id) of a newest-first list.</summary>
    public static (int Limit, long? Before, string? Problem) ReadPage(HttpRequest request, string beforeHint)
    {
        var limit = 50;
        if (request.Query.TryGetValue("limit", out var limitText)
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 200))
        {
            return (0, null, "limit is a whole number from 1 to 200.");
        }
        if (!request.Query.TryGetValue("before", out var beforeText))
        {
            return (limit, null, null);
        }
        return long.TryParse(beforeText, NumberStyles.None, CultureInfo.InvariantCulture, out var before)
            ? (limit, before, null)
            : (0, null, beforeHint);
    }
}
