using SemiClip.Tests.Support;

namespace SemiClip.Tests.Foundation;

/// <summary>The line-width rule <c>dotnet format</c> cannot enforce (it wraps nothing): no C# line in the repository
/// is wider than 120 columns (.editorconfig). CSharpier (`dotnet tool run csharpier format .`, printWidth 120) wraps
/// code; comments and long strings are wrapped by hand.</summary>
public class FormattingTests
{
    [Fact]
    public void NoCSharpLineIsWiderThan120Characters()
    {
        var root = SharedFiles.RepoRoot;
        var wide = new[] { "src", "tests", "bench", "build" }
            .Where(d => Directory.Exists(Path.Combine(root, d)))
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .SelectMany(f =>
                File.ReadLines(f).Select((line, i) => (File: Path.GetRelativePath(root, f), Line: i + 1, line.Length))
            )
            .Where(x => x.Length > 120)
            .ToList();
        var shown = wide.Take(50).Select(w => $"{w.File}:{w.Line} ({w.Length})");
        Assert.True(wide.Count == 0, $"{wide.Count} line(s) wider than 120:\n" + string.Join("\n", shown));
    }
}
