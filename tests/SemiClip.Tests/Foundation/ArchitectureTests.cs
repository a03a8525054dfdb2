using SemiClip.Tests.Support;

namespace SemiClip.Tests.Foundation;

/// <summary>The library's folders depend on each other one way, and exactly as docs/architecture.md says.</summary>
public class ArchitectureTests
{
    [Fact]
    public void TheLibraryHasNoNamespaceCycleAndTheArchitectureDocStatesItsGraph()
    {
        var actual = NamespaceGraph.OfLibrary();
        Assert.Null(NamespaceGraph.FindCycle(actual));
        var stated = NamespaceGraph.StatedIn(
            File.ReadAllText(Path.Combine(SharedFiles.RepoRoot, "docs", "architecture.md"))
        );
        string Show(Dictionary<string, SortedSet<string>> g) =>
            string.Join(
                "; ",
                g.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                    .Select(kv => $"{kv.Key} → {string.Join(", ", kv.Value)}")
            );
        Assert.True(
            Show(actual) == Show(stated),
            $"docs/architecture.md states\n  {Show(stated)}\nthe code has\n  {Show(actual)}"
        );
    }

    [Fact]
    public void TheLibraryLeavesThreadCountsToTheProcess()
    {
        // Process-wide state is the application's: a library call must not change how many threads every other
        // caller in the process gets.
        var library = Path.Combine(SharedFiles.RepoRoot, "src", "SemiClip");
        var callers = Directory
            .GetFiles(library, "*.cs", SearchOption.AllDirectories)
            .Where(f =>
                !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            )
            .Where(f => File.ReadAllText(f).Contains("set_num_threads(", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(library, f))
            .ToList();
        Assert.Empty(callers);
    }

    [Fact]
    public void SharedStaticCollectionsCannotBeChangedByACaller()
    {
        // A public static array or mutable collection is process-wide state any caller can change for every other.
        static bool Mutable(Type t) =>
            t.IsArray
            || t.IsGenericType
                && t.GetGenericTypeDefinition() is var g
                && (g == typeof(List<>) || g == typeof(HashSet<>) || g == typeof(Dictionary<,>));
        var assemblies = new[] { typeof(SemiClip.Model.ClipModel).Assembly, typeof(SemiClip.Serve.ServeApp).Assembly };
        var offenders = assemblies
            .SelectMany(a => a.GetExportedTypes())
            .SelectMany(t =>
                t.GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
                    .Where(f => f.IsInitOnly && Mutable(f.FieldType) && f.FieldType != typeof(string))
                    .Select(f => $"{t.FullName}.{f.Name} ({f.FieldType.Name})")
            )
            .ToList();
        Assert.True(offenders.Count == 0, "mutable shared collections:\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void FindsACycle()
    {
        var graph = new Dictionary<string, SortedSet<string>>
        {
            ["A"] = ["B"],
            ["B"] = ["C"],
            ["C"] = ["A"],
            ["D"] = ["A"],
        };
        Assert.Equal(["A", "B", "C", "A"], NamespaceGraph.FindCycle(graph));
        graph["C"] = [];
        Assert.Null(NamespaceGraph.FindCycle(graph));
    }

    [Fact]
    public void ReadsTheArchitectureSentence()
    {
        var g = NamespaceGraph.StatedIn(
            "Inside the library: Tensors and IO depend on nothing; Data → IO, Tensors; Training → all of those. "
                + "Projects: x"
        );
        Assert.Empty(g["Tensors"]);
        Assert.Equal(["IO", "Tensors"], g["Data"]);
        Assert.Equal(["Data", "IO", "Tensors"], g["Training"]);
    }
}
