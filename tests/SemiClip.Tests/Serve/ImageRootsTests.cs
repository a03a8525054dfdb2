using SemiClip.Serve;
using SemiClip.Tests.Support;

namespace SemiClip.Tests.Serve;

/// <summary>Only images under the served folders can be read, however the request spells its path.</summary>
public class ImageRootsTests
{
    static (TempDir Dir, ImageRoots Roots) Setup()
    {
        var dir = new TempDir();
        Directory.CreateDirectory(dir.File("root/sub"));
        Directory.CreateDirectory(dir.File("outside"));
        File.WriteAllBytes(dir.File("root/sub/a.png"), [1]);
        File.WriteAllBytes(dir.File("root/notes.txt"), [1]);
        File.WriteAllBytes(dir.File("outside/secret.png"), [2]);
        File.CreateSymbolicLink(dir.File("root/link-out.png"), dir.File("outside/secret.png"));
        Directory.CreateSymbolicLink(dir.File("root/folder-out"), dir.File("outside"));
        File.CreateSymbolicLink(dir.File("root/link-in.png"), dir.File("root/sub/a.png"));
        return (dir, new ImageRoots([dir.File("root")]));
    }

    [Fact]
    public void ServesAnImageInsideTheFolderAndAnInsideLink()
    {
        var (dir, roots) = Setup();
        using var _ = dir;
        Assert.Equal(Path.GetFullPath(dir.File("root/sub/a.png")), roots.Resolve(0, "sub/a.png").File);
        Assert.Equal(Path.GetFullPath(dir.File("root/sub/a.png")), roots.Resolve(0, "sub/%61.png").File);
        Assert.NotNull(roots.Resolve(0, "link-in.png").File);
        Assert.Equal("/img/0/sub/a.png", roots.UrlOf(dir.File("root/sub/a.png")));
        Assert.Null(roots.UrlOf(dir.File("outside/secret.png")));
    }

    [Theory]
    [InlineData("../outside/secret.png")]
    [InlineData("sub/../../outside/secret.png")]
    [InlineData("%2e%2e/outside/secret.png")]
    [InlineData("%2E%2E%2Foutside%2Fsecret.png")]
    [InlineData("sub%2F..%2F..%2Foutside%2Fsecret.png")]
    [InlineData("..%5Coutside%5Csecret.png")]
    [InlineData("/outside/secret.png")]
    [InlineData("%2Ftmp%2Fsecret.png")]
    [InlineData("link-out.png")]
    [InlineData("folder-out/secret.png")]
    [InlineData("notes.txt")]
    [InlineData("sub/missing.png")]
    [InlineData("sub//a.png")]
    [InlineData("./sub/a.png")]
    [InlineData("C:%5Cwindows%5Cx.png")]
    [InlineData("sub/a.png%00.txt")]
    [InlineData("%zz.png")]
    public void RefusesEveryWayOut(string request)
    {
        var (dir, roots) = Setup();
        using var _ = dir;
        var (file, refusal) = roots.Resolve(0, request);
        Assert.Null(file);
        Assert.False(string.IsNullOrEmpty(refusal));
    }

    [Fact]
    public void RefusesAnUnknownRoot()
    {
        var (dir, roots) = Setup();
        using var _ = dir;
        Assert.Null(roots.Resolve(1, "sub/a.png").File);
        Assert.Null(roots.Resolve(-1, "sub/a.png").File);
    }

    [Fact]
    public void RealPathFollowsLinksOnTheWay()
    {
        var (dir, _) = Setup();
        using var d = dir;
        Assert.Equal(
            ImageRoots.RealPath(dir.File("outside/secret.png")),
            ImageRoots.RealPath(dir.File("root/folder-out/secret.png"))
        );
        Assert.Equal(
            ImageRoots.RealPath(dir.File("outside/secret.png")),
            ImageRoots.RealPath(dir.File("root/link-out.png"))
        );
    }
}
