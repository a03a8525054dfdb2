using SemiClip.Data.Shards;

namespace SemiClip.Tests.Data.Shards;

public class ShardPatternTests
{
    [Fact]
    public void RangesKeepTheirZeroPaddingAndListsAndPatternsJoinInOrder()
    {
        Assert.Equal(["d/000008.tar", "d/000009.tar", "d/000010.tar"], ShardPattern.Expand("d/{000008..000010}.tar"));
        Assert.Equal(["s9.tar", "s10.tar"], ShardPattern.Expand("s{9..10}.tar"));
        Assert.Equal(
            ["a-0.tar", "a-1.tar", "b-0.tar", "b-1.tar", "x.tar"],
            ShardPattern.Expand("{a,b}-{0..1}.tar::x.tar")
        );
        Assert.Equal(["p/07.tar", "p/08.tar", "p/09.tar", "p/10.tar"], ShardPattern.Expand("p/{07..10}.tar"));
    }

    [Fact]
    public void ShardsAreRecognisedOnlyWhenEveryPatternEndsInTar()
    {
        Assert.True(ShardPattern.IsShards("data/{00..09}.tar"));
        Assert.True(ShardPattern.IsShards("a.tar::b/{0..3}.tar"));
        Assert.False(ShardPattern.IsShards("train.jsonl"));
        Assert.False(ShardPattern.IsShards("a.tar::captions.csv"));
        Assert.False(ShardPattern.IsShards(null));
    }

    [Fact]
    public void BadPatternsAndMissingShardsAreNamed()
    {
        Assert.Contains(
            "unbalanced",
            Assert.Throws<ArgumentException>(() => ShardPattern.Expand("d/{0..3.tar")).Message
        );
        Assert.Contains(
            "backwards",
            Assert.Throws<ArgumentException>(() => ShardPattern.Expand("d/{5..3}.tar")).Message
        );
        using var dir = new Support.TempDir();
        File.WriteAllBytes(dir.File("s0.tar"), new byte[1024]);
        var e = Assert.Throws<FileNotFoundException>(() => ShardPattern.ExpandExisting(dir.File("s{0..1}.tar")));
        Assert.Contains("s1.tar", e.Message);
    }
}
