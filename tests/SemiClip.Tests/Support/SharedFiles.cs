namespace SemiClip.Tests.Support;

/// <summary>Files the tests read. Everything comes from inside the repository, so a plain clone passes:
/// the CLIP merges file is the copy the library ships (src/SemiClip/Tokenization/Vocab), read from disk
/// so the file-loading path is what is tested.</summary>
public static class SharedFiles
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string ClipVocab =>
        Require(Path.Combine(RepoRoot, "src", "SemiClip", "Tokenization", "Vocab", "bpe_simple_vocab_16e6.txt.gz"));

    static string Require(string path) =>
        File.Exists(path)
            ? Path.GetFullPath(path)
            : throw new FileNotFoundException($"test data expected at {Path.GetFullPath(path)}");

    static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "SemiClip.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("SemiClip.sln not found above the test assembly");
    }
}
