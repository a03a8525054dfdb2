using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace SemiClip.Tests.Support;

/// <summary>Which of the library's folders (namespaces <c>SemiClip.X</c>) use which, read from the compiled
/// library (the folder is the file's namespace, so build/'s compiled-in patch is <c>Build</c>): every name that binds
/// to a type or member of another <c>SemiClip.*</c> namespace is an edge.</summary>
public static class NamespaceGraph
{
    public static Dictionary<string, SortedSet<string>> OfLibrary()
    {
        var library = ScalarHazardScanner.RepositoryProjects()[0];
        var compilation = ScalarHazardScanner.Compile(library, []);
        var graph = new Dictionary<string, SortedSet<string>>();
        foreach (var tree in compilation.SyntaxTrees)
        {
            var declared = tree.GetRoot()
                .DescendantNodes()
                .OfType<BaseNamespaceDeclarationSyntax>()
                .FirstOrDefault()
                ?.Name.ToString();
            if (declared is null || !declared.StartsWith("SemiClip.", StringComparison.Ordinal))
                continue;
            var folder = declared["SemiClip.".Length..].Split('.')[0];
            var uses = graph.TryGetValue(folder, out var set)
                ? set
                : graph[folder] = new SortedSet<string>(StringComparer.Ordinal);
            var model = compilation.GetSemanticModel(tree);
            foreach (var name in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
            {
                var symbol = model.GetSymbolInfo(name).Symbol;
                if (symbol is null or INamespaceSymbol)
                    continue;
                var ns = (
                    symbol is IMethodSymbol { ReducedFrom: { } original } ? original : symbol
                ).ContainingNamespace?.ToDisplayString() ?? "";
                if (!ns.StartsWith("SemiClip.", StringComparison.Ordinal))
                    continue;
                var target = ns["SemiClip.".Length..].Split('.')[0];
                if (target != folder)
                    uses.Add(target);
            }
        }
        return graph;
    }

    /// <summary>A cycle as a path (first node repeated at its end), or null when the graph has none.</summary>
    public static List<string>? FindCycle(IReadOnlyDictionary<string, SortedSet<string>> graph)
    {
        var state = new Dictionary<string, int>(); // 1: on the path, 2: done
        var path = new List<string>();
        List<string>? Visit(string node)
        {
            state[node] = 1;
            path.Add(node);
            foreach (var next in graph.GetValueOrDefault(node) ?? [])
            {
                if (state.GetValueOrDefault(next) == 1)
                    return [.. path.SkipWhile(n => n != next), next];
                if (state.GetValueOrDefault(next) == 0 && Visit(next) is { } cycle)
                    return cycle;
            }
            state[node] = 2;
            path.RemoveAt(path.Count - 1);
            return null;
        }
        foreach (var node in graph.Keys.Order(StringComparer.Ordinal))
            if (state.GetValueOrDefault(node) == 0 && Visit(node) is { } cycle)
                return cycle;
        return null;
    }

    /// <summary>The graph docs/architecture.md states: "Inside the library: Tensors and IO depend on
    /// nothing; Tokenization → IO; …; Training → all of those." (parentheses are commentary)</summary>
    public static Dictionary<string, SortedSet<string>> StatedIn(string readme)
    {
        readme = Regex.Replace(readme, @"\s+", " ");
        int start = readme.IndexOf("Inside the library:", StringComparison.Ordinal);
        if (start < 0)
            throw new InvalidDataException("docs/architecture.md: no 'Inside the library:' sentence");
        start += "Inside the library:".Length;
        var text = Regex.Replace(
            readme[start..readme.IndexOf("Projects:", start, StringComparison.Ordinal)],
            @"\([^)]*\)",
            ""
        );
        var graph = new Dictionary<string, SortedSet<string>>();
        foreach (var clause in text.Split(';').Select(c => c.Trim().TrimEnd('.')).Where(c => c.Length > 0))
        {
            if (clause.EndsWith("depend on nothing", StringComparison.Ordinal))
            {
                foreach (
                    var n in clause[..^"depend on nothing".Length]
                        .Split([" and ", ","], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                )
                    graph[n] = new SortedSet<string>(StringComparer.Ordinal);
                continue;
            }
            var parts = clause.Split('→', StringSplitOptions.TrimEntries);
            if (parts.Length != 2)
                throw new InvalidDataException($"docs/architecture.md: cannot read the dependency clause '{clause}'");
            graph[parts[0]] =
                parts[1] == "all of those"
                    ? new SortedSet<string>(graph.Keys, StringComparer.Ordinal)
                    : new SortedSet<string>(
                        parts[1].Split(',', StringSplitOptions.TrimEntries),
                        StringComparer.Ordinal
                    );
        }
        return graph;
    }
}
