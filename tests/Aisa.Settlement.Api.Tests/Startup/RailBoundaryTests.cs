using System.Text.RegularExpressions;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Api.Tests.Startup;

/// <summary>
/// The host and the domain never name a rail: a rail's names, keys and messages live in its adapter project, and the host
/// reaches rails only through the registry and their capabilities. Read from the sources, so a literal added back fails here.
/// </summary>
public sealed partial class RailBoundaryTests
{
    private static readonly string[] HostAndDomain = ["src/Aisa.Settlement.Api", "src/Aisa.Settlement.Core", "src/Aisa.Settlement.Storage"];

    /// <summary>The one file of the host that names the rail projects: the list of their registrations.</summary>
    private const string Registrations = "src/Aisa.Settlement.Api/Rails/RailRegistrations.cs";

    [Fact]
    public void No_string_literal_of_the_host_or_the_domain_names_a_rail()
    {
        var found = Sources().SelectMany(file => Literals(File.ReadAllText(file))
                .Where(literal => RailName().IsMatch(literal) || BaseRail().IsMatch(literal))
                .Select(literal => $"{Path.GetRelativePath(RepositoryPaths.Root, file)}: {literal}"))
            .ToList();

        Assert.Empty(found);
    }

    [Fact]
    public void Only_the_registration_list_of_the_host_uses_a_rail_project()
    {
        var found = Sources()
            .Where(file => Path.GetRelativePath(RepositoryPaths.Root, file).Replace('\\', '/') != Registrations)
            .Where(file => File.ReadAllText(file).Contains("Aisa.Settlement.Adapters", StringComparison.Ordinal))
            .Select(file => Path.GetRelativePath(RepositoryPaths.Root, file))
            .ToList();

        Assert.Empty(found);
        Assert.Contains("AddStripeRail", File.ReadAllText(Path.Combine(RepositoryPaths.Root, Registrations)), StringComparison.Ordinal);
    }

    [Fact]
    public void The_check_finds_a_rail_named_in_a_literal()
    {
        var literals = Literals("""var key = $"stripe:checkout:{id}"; // "x402" in a comment is not code""" + "\n" + "var rail = \"base\";");

        Assert.Equal(2, literals.Count(l => RailName().IsMatch(l) || BaseRail().IsMatch(l)));
    }

    private static IEnumerable<string> Sources() =>
        HostAndDomain.SelectMany(project => Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, project), "*.cs", SearchOption.AllDirectories))
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    /// <summary>The string literals of C# source (raw ones too), comments left out.</summary>
    private static IEnumerable<string> Literals(string source)
    {
        var code = string.Join('\n', source.Split('\n').Select(line => CommentTail().Replace(line, "")));
        return Literal().Matches(code).Select(m => m.Value);
    }

    /// <summary>A comment from a "//" outside a string to the end of its line (the "//" of a URL inside a literal stays).</summary>
    private static Regex CommentTail() => CommentTailRegex;

    private static readonly Regex CommentTailRegex = new("""(?<=^(?:[^"/]|"(?:[^"\\]|\\.)*"|/(?!/))*)//.*$""", RegexOptions.Compiled);

    [GeneratedRegex(@"""""""[\s\S]*?""""""|""(?:[^""\\\n]|\\.)*""")]
    private static partial Regex Literal();

    [GeneratedRegex(@"\b(x402|stripe|solana|lightning|polygon|bnb|evm)\b", RegexOptions.IgnoreCase)]
    private static partial Regex RailName();

    [GeneratedRegex(@"""base""|\bbase:|:base\b")]
    private static partial Regex BaseRail();
}
