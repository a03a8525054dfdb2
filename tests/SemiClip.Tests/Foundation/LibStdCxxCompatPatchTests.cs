using System.Security.Cryptography;
using SemiClip.Build;
using SemiClip.Tests.Support;

namespace SemiClip.Tests.Foundation;

public class LibStdCxxCompatPatchTests
{
    static string PackagedLibrary()
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var so = Path.Combine(
            packages,
            "torchsharp",
            "0.107.0",
            "runtimes",
            "linux-x64",
            "native",
            "libLibTorchSharp.so"
        );
        Assert.True(File.Exists(so), $"restored TorchSharp native library expected at {so}");
        return so;
    }

    [Fact]
    public void PatchIsIdempotentAndLeavesTheNuGetCacheAlone()
    {
        if (!OperatingSystem.IsLinux())
            return;
        var original = PackagedLibrary();
        var before = SHA256.HashData(File.ReadAllBytes(original));
        Assert.Equal(PatchState.Unpatched, LibStdCxxCompatPatch.Inspect(original));

        using var dir = new TempDir();
        var copy = dir.File("libLibTorchSharp.so");
        File.Copy(original, copy);
        Assert.Equal(PatchState.Patched, LibStdCxxCompatPatch.Apply(copy));
        var once = File.ReadAllBytes(copy);
        Assert.Equal(PatchState.AlreadyPatched, LibStdCxxCompatPatch.Apply(copy));
        Assert.Equal(once, File.ReadAllBytes(copy));
        Assert.Equal(PatchState.AlreadyPatched, LibStdCxxCompatPatch.Inspect(copy));

        var originalBytes = File.ReadAllBytes(original);
        // The dynamic string table loses its one reference; the static symbol table may keep another.
        int Count(byte[] b, string s) =>
            System
                .Text.RegularExpressions.Regex.Matches(System.Text.Encoding.Latin1.GetString(b), "\0" + s + "\0")
                .Count;
        Assert.Equal(
            Count(originalBytes, LibStdCxxCompatPatch.MissingSymbol) - 1,
            Count(once, LibStdCxxCompatPatch.MissingSymbol)
        );
        Assert.Equal(
            Count(originalBytes, LibStdCxxCompatPatch.ReplacementSymbol) + 1,
            Count(once, LibStdCxxCompatPatch.ReplacementSymbol)
        );
        Assert.Equal(originalBytes.Length, once.Length);
        int changed = originalBytes.Zip(once).Count(p => p.First != p.Second);
        Assert.InRange(changed, 3, 40); // a renamed string, one version index, one flag
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(original)));
    }

    [Fact]
    public void TheCopyThisTestRunLoadedMatchesWhatTheSystemNeeds()
    {
        if (!OperatingSystem.IsLinux())
            return;
        var info = SemiClip.Runtime.NativeRuntimeInfo.Collect();
        Assert.True(File.Exists(info.LibTorchSharpPath), info.LibTorchSharpPath);
        var expected = info.SystemHasGlibcxx3432 ? PatchState.Unpatched : PatchState.AlreadyPatched;
        Assert.Equal(expected, info.PatchState);
    }
}
