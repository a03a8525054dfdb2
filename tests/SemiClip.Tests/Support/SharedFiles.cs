namespace SemiClip.Tests.Support;

/// <summary>Files from the project's ../shared/ folder (beside the checkout).</summary>
public static class SharedFiles
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string ClipVocab => Require(Path.Combine(RepoRoot, "..", "shared", "clip", "bpe_simple_vocab_16e6.txt.gz"));

    static string Require(string path) =>
        File.Exists(path) ? Path.GetFullPath(path) : throw new FileNotFoundException($"test data expected at {Path.GetFullPath(path)} (../shared beside the checkout)");

    static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "SemiClip.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("SemiClip.sln not found above the test assembly");
    }
}
