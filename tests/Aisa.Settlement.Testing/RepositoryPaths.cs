namespace Aisa.Settlement.Testing;

public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The built assembly of another project of the solution, in the same configuration as the running tests.</summary>
    public static string ProjectAssembly(string folder, string project)
    {
        // Test assemblies run from <project>/bin/<Configuration>/<tfm>/.
        var tfmDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = tfmDirectory.Parent!.Name;
        var path = Path.Combine(Root, folder, project, "bin", configuration, tfmDirectory.Name, project + ".dll");
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{project} is not built at {path}; build the solution first.", path);
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Aisa.Settlement.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("Not inside the Aisa.Settlement repository.");
    }
}
