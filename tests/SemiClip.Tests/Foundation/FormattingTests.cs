using SemiClip.Tests.Support;

namespace SemiClip.Tests.Foundation;

/// <summary>The line-width rule the formatter cannot enforce (<c>dotnet format</c> wraps nothing): new code aims
/// at 120 columns (.editorconfig), and no C# line in the repository is wider than 160.</summary>
public class FormattingTests
{
    [Fact]
    public void NoCSharpLineIsWiderThan160Characters()
    {
        var root = SharedFiles.RepoRoot;
        var wide = new[] { "src", "tests", "bench", "build" }
            .Where(d => Directory.Exists(Path.Combine(root, d)))
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: Path.GetRelativePath(root, f), Line: i + 1, line.Length)))
            .Where(x => x.Length > 160)
            .ToList();
        var shown = wide.Take(50).Select(w => $"{w.File}:{w.Line} ({w.Length})");
        Assert.True(wide.Count == 0, $"{wide.Count} line(s) wider than 160:\n" + string.Join("\n", shown));
    }
}
