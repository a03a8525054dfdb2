using SemiClip.Evaluation;
using static TorchSharp.torch;

namespace SemiClip.Tests.Evaluation;

public class IndexSearchTests
{
    [Fact]
    public void ChunkedTopKEqualsAFullSort()
    {
        using var seeded = new Generator(0);
        var index = nn.functional.normalize(randn(1000, 8, generator: seeded), dim: -1);
        var q = nn.functional.normalize(randn(8, generator: seeded), dim: -1);
        var (scores, indices) = IndexSearch.TopK(index, q, 7, chunk: 64);
        var all = index.matmul(q).data<float>().ToArray();
        var expected = all.Select((s, i) => (s, i)).OrderByDescending(x => x.s).Take(7).ToArray();
        Assert.Equal(expected.Select(e => (long)e.i), indices);
        Assert.Equal(expected.Select(e => e.s), scores);
    }
}
