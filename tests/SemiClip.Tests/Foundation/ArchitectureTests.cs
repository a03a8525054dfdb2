using SemiClip.Tests.Support;

namespace SemiClip.Tests.Foundation;

/// <summary>The library's folders depend on each other one way, and exactly as the README says.</summary>
public class ArchitectureTests
{
    [Fact]
    public void TheLibraryHasNoNamespaceCycleAndTheReadmeStatesItsGraph()
    {
        var actual = NamespaceGraph.OfLibrary();
        Assert.Null(NamespaceGraph.FindCycle(actual));
        var stated = NamespaceGraph.StatedInReadme(File.ReadAllText(Path.Combine(SharedFiles.RepoRoot, "README.md")));
        string Show(Dictionary<string, SortedSet<string>> g) =>
            string.Join("; ", g.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} → {string.Join(", ", kv.Value)}"));
        Assert.True(Show(actual) == Show(stated), $"README states\n  {Show(stated)}\nthe code has\n  {Show(actual)}");
    }

    [Fact]
    public void FindsACycle()
    {
        var graph = new Dictionary<string, SortedSet<string>> { ["A"] = ["B"], ["B"] = ["C"], ["C"] = ["A"], ["D"] = ["A"] };
        Assert.Equal(["A", "B", "C", "A"], NamespaceGraph.FindCycle(graph));
        graph["C"] = [];
        Assert.Null(NamespaceGraph.FindCycle(graph));
    }

    [Fact]
    public void ReadsTheReadmeSentence()
    {
        var g = NamespaceGraph.StatedInReadme("Inside the library: Tensors and IO depend on nothing; Data → IO, Tensors; Training → all of those. Projects: x");
        Assert.Empty(g["Tensors"]);
        Assert.Equal(["IO", "Tensors"], g["Data"]);
        Assert.Equal(["Data", "IO", "Tensors"], g["Training"]);
    }
}
