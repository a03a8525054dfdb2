using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace SemiClip.Tests.Support;

/// <summary>Finds the TorchSharp 0.107 temporary-Scalar hazard in C# source by compiling it with Roslyn
/// against the real TorchSharp assembly: every implicit conversion of a number to
/// <c>TorchSharp.Scalar</c>, and every call of a TorchSharp member that makes such a temporary inside
/// itself (<see cref="InternalTemporaries"/>). TorchSharp passes the temporary's native handle to LibTorch
/// without keeping the object alive, so a garbage collection during the call can free it
/// (dotnet/TorchSharp#1434). Files named in <c>allowed</c> (the safe helpers) are exempt.</summary>
public static class ScalarHazardScanner
{
    /// <summary>TorchSharp members (as Roslyn prints them) whose bodies convert a number to a temporary
    /// Scalar: Tensor.add(Tensor) passes alpha = 1, the number-taking operators convert their operand, and
    /// so on. Read from TorchSharp's source for the members SemiClip calls.</summary>
    public static readonly ImmutableHashSet<string> InternalTemporaries = ImmutableHashSet.Create(
        "TorchSharp.torch.Tensor.add(TorchSharp.torch.Tensor)",
        "TorchSharp.torch.Tensor.add(TorchSharp.Scalar)",
        "TorchSharp.torch.Tensor.add_(TorchSharp.torch.Tensor)",
        "TorchSharp.torch.Tensor.add_(TorchSharp.Scalar)",
        "TorchSharp.torch.Tensor.addcdiv(TorchSharp.torch.Tensor, TorchSharp.torch.Tensor)",
        "TorchSharp.torch.Tensor.addcdiv_(TorchSharp.torch.Tensor, TorchSharp.torch.Tensor)",
        "TorchSharp.torch.Tensor.square()",
        "TorchSharp.torch.add(TorchSharp.torch.Tensor, TorchSharp.torch.Tensor)",
        "TorchSharp.torch.Tensor.operator +(TorchSharp.torch.Tensor, TorchSharp.torch.Tensor)"
    );

    public sealed record Finding(string File, int Line, string Code, string Why)
    {
        public override string ToString() => $"{File}:{Line}: {Code} — {Why}";
    }

    /// <summary>One project's sources: compiled in order, each referencing the ones before it.</summary>
    public sealed record Project(string Name, IReadOnlyList<string> Files, params string[] Defines)
    {
        /// <summary>The extern alias later projects reference this one by (SemiClip.Onnx compiles some of the library's
        /// own sources, so its types would clash with the library's under the global alias).</summary>
        public string? Alias { get; init; }
    }

    /// <summary>The repository's projects that ship code: the library, the CLI and the benchmarks.</summary>
    public static IReadOnlyList<Project> RepositoryProjects()
    {
        string root = SharedFiles.RepoRoot;
        List<string> Sources(string dir) =>
            Directory
                .GetFiles(Path.Combine(root, dir), "*.cs", SearchOption.AllDirectories)
                .Where(f =>
                    !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")
                    && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")
                )
                .Order(StringComparer.Ordinal)
                .ToList();
        return
        [
            new Project(
                "SemiClip",
                [.. Sources("src/SemiClip"), Path.Combine(root, "build", "LibStdCxxCompatPatch.cs")],
                "SEMICLIP_LIBRARY"
            ),
            new Project("SemiClip.Onnx", [.. Sources("src/SemiClip.Onnx"), .. OnnxShared(root)], "SEMICLIP_ONNX")
            {
                Alias = "onnx",
            },
            new Project("SemiClip.Experiments", Sources("src/SemiClip.Experiments")),
            new Project("SemiClip.Serve", Sources("src/SemiClip.Serve")),
            new Project("SemiClip.Cli", Sources("src/SemiClip.Cli")),
            new Project("SemiClip.Bench", Sources("bench/SemiClip.Bench")),
        ];
    }

    /// <summary>The library files SemiClip.Onnx compiles in, read from its project file (so the list is kept
    /// once).</summary>
    static IEnumerable<string> OnnxShared(string root)
    {
        var project = System.Xml.Linq.XDocument.Load(Path.Combine(root, "src/SemiClip.Onnx/SemiClip.Onnx.csproj"));
        return project
            .Descendants("Compile")
            .SelectMany(c => c.Attribute("Include")!.Value.Split(';'))
            .Select(f => Path.GetFullPath(Path.Combine(root, "src/SemiClip.Onnx", f.Trim())));
    }

    static MetadataReference Reference(Project project, CSharpCompilation compilation) =>
        project.Alias is null
            ? compilation.ToMetadataReference()
            : compilation.ToMetadataReference(aliases: [project.Alias]);

    public static List<Finding> Scan(IReadOnlyList<Project> projects, IEnumerable<string> allowed)
    {
        var allowedNames = allowed.ToHashSet(StringComparer.Ordinal);
        var findings = new List<Finding>();
        var built = new List<MetadataReference>();
        foreach (var project in projects)
        {
            var compilation = Compile(project, built);
            built.Add(Reference(project, compilation));
            foreach (
                var tree in compilation.SyntaxTrees.Where(t =>
                    t.FilePath != "ImplicitUsings.cs" && !allowedNames.Contains(Path.GetFileName(t.FilePath))
                )
            )
                findings.AddRange(ScanTree(compilation.GetSemanticModel(tree), tree));
        }
        return findings;
    }

    /// <summary>One project compiled as the build does (preview language, the SDK's implicit usings), against the
    /// projects compiled before it; throws with the first errors when it does not compile.</summary>
    public static CSharpCompilation Compile(Project project, IEnumerable<MetadataReference> built)
    {
        var options = new CSharpParseOptions(LanguageVersion.Preview, preprocessorSymbols: project.Defines);
        var trees = project.Files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), options, f)).ToList();
        trees.Add(CSharpSyntaxTree.ParseText(ImplicitUsings, options, "ImplicitUsings.cs"));
        var kind = trees.Any(t => t.GetRoot().ChildNodes().OfType<GlobalStatementSyntax>().Any())
            ? OutputKind.ConsoleApplication
            : OutputKind.DynamicallyLinkedLibrary;
        var compilation = CSharpCompilation.Create(
            project.Name,
            trees,
            References().Concat(built),
            new CSharpCompilationOptions(kind, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable)
        );
        // CS8795: [GeneratedRegex] partial methods, whose other half a source generator writes at build time;
        // CS0619: members obsolete-as-error in the newest reference assembly but not the one the build binds.
        var errors = compilation
            .GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Error && d.Id is not ("CS8795" or "CS0619"))
            .Take(5)
            .ToList();
        if (errors.Count > 0)
            throw new InvalidOperationException(
                $"{project.Name} does not compile for the scan: " + string.Join("; ", errors)
            );
        return compilation;
    }

    static IEnumerable<Finding> ScanTree(SemanticModel model, SyntaxTree tree)
    {
        foreach (var node in tree.GetRoot().DescendantNodes())
        {
            string? why = null;
            if (
                node is ExpressionSyntax expr
                && node is not ParenthesizedExpressionSyntax
                && !(node.Parent is MemberAccessExpressionSyntax access && access.Name == node)
            ) // report `double.NaN` once, not also `NaN`
            {
                var conversion = model.GetConversion(expr);
                if (
                    conversion.IsUserDefined
                    && conversion.MethodSymbol?.ContainingType.ToDisplayString() == "TorchSharp.Scalar"
                )
                    why = "a number converted to a temporary TorchSharp.Scalar";
            }
            if (
                why is null
                && node is InvocationExpressionSyntax or BinaryExpressionSyntax or AssignmentExpressionSyntax
            )
            {
                var method = (model.GetSymbolInfo(node).Symbol as IMethodSymbol)?.OriginalDefinition;
                var name = method?.ToDisplayString();
                if (name != null && (InternalTemporaries.Contains(name) || IsNumberOperator(method!)))
                    why = $"{name} makes a temporary Scalar inside TorchSharp";
            }
            if (why != null)
                yield return new Finding(
                    Path.GetRelativePath(SharedFiles.RepoRoot, tree.FilePath),
                    node.GetLocation().GetLineSpan().StartLinePosition.Line + 1,
                    Shorten(node.ToString()),
                    why
                );
        }
    }

    /// <summary>Tensor's operators that take a number (<c>t * 2.0</c>, <c>1 - t</c>, <c>t / n</c>) forward it to
    /// a Scalar overload, converting it there.</summary>
    static bool IsNumberOperator(IMethodSymbol m) =>
        m.MethodKind == MethodKind.UserDefinedOperator
        && m.ContainingType.ToDisplayString() == "TorchSharp.torch.Tensor"
        && m.Parameters.Any(p =>
            p.Type.SpecialType
                is SpecialType.System_Int32
                    or SpecialType.System_Int64
                    or SpecialType.System_Single
                    or SpecialType.System_Double
                    or SpecialType.System_Int16
                    or SpecialType.System_Byte
                    or SpecialType.System_SByte
                    or SpecialType.System_Boolean
        );

    /// <summary>Every TorchSharp member the projects call, for reviewing <see cref="InternalTemporaries"/>.</summary>
    public static SortedSet<string> TorchSharpMembersCalled(IReadOnlyList<Project> projects)
    {
        var result = new SortedSet<string>(StringComparer.Ordinal);
        var built = new List<MetadataReference>();
        foreach (var project in projects)
        {
            var compilation = Compile(project, built);
            built.Add(Reference(project, compilation));
            foreach (var tree in compilation.SyntaxTrees)
            {
                var model = compilation.GetSemanticModel(tree);
                foreach (
                    var node in tree.GetRoot()
                        .DescendantNodes()
                        .Where(n =>
                            n
                                is InvocationExpressionSyntax
                                    or BinaryExpressionSyntax
                                    or AssignmentExpressionSyntax
                                    or ObjectCreationExpressionSyntax
                                    or PrefixUnaryExpressionSyntax
                        )
                )
                    if (
                        model.GetSymbolInfo(node).Symbol is IMethodSymbol m
                        && m.ContainingNamespace?.ToDisplayString().StartsWith("TorchSharp", StringComparison.Ordinal)
                            == true
                    )
                        result.Add(m.OriginalDefinition.ToDisplayString());
            }
        }
        return result;
    }

    static string Shorten(string code)
    {
        code = string.Join(
            ' ',
            code.Split((char[])['\n', '\r'], StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim())
        );
        return code.Length > 90 ? code[..90] + "…" : code;
    }

    static IEnumerable<MetadataReference> References()
    {
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var local = Directory.GetFiles(AppContext.BaseDirectory, "*.dll");
        return platform
            .Concat(local)
            .Where(p => !Path.GetFileName(p).StartsWith("SemiClip", StringComparison.Ordinal))
            .GroupBy(Path.GetFileName)
            .Select(g => g.First())
            .Select(p =>
            {
                try
                {
                    return (MetadataReference?)MetadataReference.CreateFromFile(p);
                }
                catch
                {
                    return null;
                }
            })
            .Where(r => r != null)!;
    }

    // The global usings the SDK generates for ImplicitUsings=enable (Microsoft.NET.Sdk).
    const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;
}
