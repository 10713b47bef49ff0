using System.Globalization;

namespace Aisa.Settlement.Deposits;

/// <summary>Evidence of a transition as a small JSON object.</summary>
public static class Evidence
{
    public static string Of(params (string Name, object? Value)[] fields)
    {
        var json = new System.Text.Json.Nodes.JsonObject();
        foreach (var (name, value) in fields)
        {
            json[name] = value switch
            {
                null => null,
                long number => number,
                int number => number,
                bool flag => flag,
                _ => Convert.ToString(value, CultureInfo.InvariantCulture),
            };
        }
        return json.ToJsonString();
    }
}
