namespace Aisa.Settlement.Api.Verify;

/// <summary>
/// Names the crawler for the publisher's records, from its registered type, then its declared agent, then its
/// user agent. It never changes which rule applies: only the registered crawler type does.
/// </summary>
public static class CrawlerIdentifier
{
    private static readonly string[] KnownBots =
    [
        "GPTBot", "ChatGPT-User", "OAI-SearchBot", "ClaudeBot", "Claude-Web", "anthropic-ai", "PerplexityBot", "Perplexity-User",
        "Google-Extended", "Googlebot", "Bingbot", "CCBot", "Bytespider", "Amazonbot", "Applebot", "Applebot-Extended",
        "meta-externalagent", "FacebookBot", "cohere-ai", "Diffbot", "YouBot", "DuckAssistBot", "MistralAI-User",
    ];

    public static CrawlerIdentification Identify(string? registeredType, string? declaredAgent, string? userAgent)
    {
        if (!string.IsNullOrWhiteSpace(registeredType))
        {
            return new CrawlerIdentification(true, registeredType);
        }
        foreach (var candidate in new[] { declaredAgent, userAgent })
        {
            if (string.IsNullOrWhiteSpace(candidate))
            {
                continue;
            }
            var bot = KnownBots.FirstOrDefault(name => candidate.Contains(name, StringComparison.OrdinalIgnoreCase));
            if (bot is not null)
            {
                return new CrawlerIdentification(true, bot);
            }
        }
        return new CrawlerIdentification(false, null);
    }
}
