using Aisa.Settlement.Pricing;

namespace Aisa.Settlement.Core.Tests.Pricing;

public sealed class ResourceUrlTests
{
    [Theory]
    [InlineData("/article/1", "/article/1", "/article/1")]
    [InlineData("/./article/1", "/article/1", "/article/1")]
    [InlineData("//article/1", "/article/1", "/article/1")]
    [InlineData("/article//1", "/article/1", "/article/1")]
    [InlineData("/%61rticle/1", "/article/1", "/article/1")]
    [InlineData("/%7euser/%7E", "/~user/~", "/~user/~")]
    [InlineData("/news/../article/1", "/article/1", "/article/1")]
    [InlineData("/article/%2e/1", "/article/1", "/article/1")]
    [InlineData("/article/1/..", "/article/", "/article/")]
    [InlineData("/article/a%2fb", null, null)]
    [InlineData("/caf%c3%a9", "/caf%C3%A9", "/caf%C3%A9")]
    [InlineData("/Article/1", "/Article/1", "/Article/1")]
    [InlineData("/article/1?x=%61&y=%3d", "/article/1", "/article/1?x=a&y=%3D")]
    [InlineData("https://news.example.com//./%61rticle/1?q=1#top", "/article/1", "/article/1?q=1")]
    [InlineData("https://news.example.com", "/", "/")]
    [InlineData("https://news.example.com?x=1", "/", "/?x=1")]
    public void Every_spelling_of_a_resource_normalises_to_one(string sent, string? path, string? pathAndQuery)
    {
        if (path is null)
        {
            Assert.False(ResourceUrl.TryParse(sent, out _, out var problem));
            Assert.NotNull(problem);
            return;
        }
        Assert.True(ResourceUrl.TryParse(sent, out var resource, out var why), why);
        Assert.Equal(path, resource.Path);
        Assert.Equal(pathAndQuery, resource.PathAndQuery);
    }

    [Theory]
    [InlineData("/../article/1", "climbs above the root")]
    [InlineData("/article/%2e%2e/%2e%2e/secret", "climbs above the root")]
    [InlineData("/article%2F1", "encoded '/'")]
    [InlineData("/article%5c1", "encoded '/' or '\\'")]
    [InlineData("/article\\1", "outside RFC 3986")]
    [InlineData("/article/%00", "control character")]
    [InlineData("/article/%0a", "control character")]
    [InlineData("/article/%zz", "two hex digits")]
    [InlineData("/article/%4", "two hex digits")]
    public void What_cannot_be_normalised_safely_is_refused(string sent, string why)
    {
        Assert.False(ResourceUrl.TryParse(sent, out _, out var problem));
        Assert.Contains(why, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/%61rticle//", "/article/")]
    [InlineData("/docs/./*/print", "/docs/*/print")]
    [InlineData("*", "*")]
    public void A_rule_pattern_is_normalised_as_paths_are(string pattern, string normalized)
    {
        Assert.Null(PricingRule.ValidatePattern(pattern));
        Assert.Equal(normalized, PricingRule.NormalizePattern(pattern));
    }

    [Theory]
    [InlineData("/article/?page=1")]
    [InlineData("/../x")]
    [InlineData("/a%2Fb/")]
    public void A_pattern_that_is_no_path_or_cannot_be_normalised_is_refused(string pattern) =>
        Assert.NotNull(PricingRule.ValidatePattern(pattern));
}
