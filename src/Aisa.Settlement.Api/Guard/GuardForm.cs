using System.Globalization;
using Aisa.Settlement.Guard;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Api.Guard;

/// <summary>A spending policy as the console's crawler page and the wallet's guard page both send it: one field per setting.</summary>
public static class GuardForm
{
    public static readonly string[] AmountFields = ["maxPricePerRequest", "dailyBudget", "monthlyBudget", "approvalAbove"];

    /// <summary>The form as a policy (an empty field is no limit; domains one a line), or what in it is not a value at all.</summary>
    public static (GuardPolicy? Policy, string? Problem) Read(IFormCollection form)
    {
        var amounts = new Dictionary<string, Micros?>();
        foreach (var name in AmountFields)
        {
            var text = form[name].ToString().Trim();
            if (text.Length == 0)
            {
                amounts[name] = null;
            }
            else if (Micros.TryParseDecimal(text, out var amount))
            {
                amounts[name] = amount;
            }
            else
            {
                return (null, $"{name} is a USD amount such as 5 or 0.25, or empty for no limit.");
            }
        }
        int? perMinute = null;
        var rate = form["requestsPerMinute"].ToString().Trim();
        if (rate.Length > 0)
        {
            if (!int.TryParse(rate, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return (null, "requestsPerMinute is a whole number, or empty for no limit.");
            }
            perMinute = parsed;
        }
        static IReadOnlyList<string> Lines(string text) =>
            text.Split(['\n', '\r', ',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return (new GuardPolicy(amounts["maxPricePerRequest"], amounts["dailyBudget"], amounts["monthlyBudget"], Lines(form["publisherAllowlist"].ToString()),
            Lines(form["publisherDenylist"].ToString()), perMinute, amounts["approvalAbove"], form["requireSignedRequests"] == "true"), null);
    }
}
