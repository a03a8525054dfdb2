namespace SemiClip.Data;

/// <summary>The loaders' independent random streams, one name each; the numbers are part of every run's draws (changing
/// one changes what a seed means), so they stay as they were when the streams were numbered by hand.</summary>
public enum RandomStream
{
    /// <summary>The order of the paired images in an epoch (in-memory loader).</summary>
    PairedOrder = 1,

    /// <summary>One paired sample's augmentation and caption choice.</summary>
    PairedSample = 2,

    /// <summary>The order of the unpaired images in an epoch.</summary>
    UnpairedOrder = 3,

    /// <summary>One unpaired sample's augmentation.</summary>
    UnpairedSample = 4,

    /// <summary>Shards: the paired stream's shard order, then its shuffle buffer.</summary>
    ShardPairedOrder = 5,
    ShardPairedShuffle = 6,

    /// <summary>Shards: the unpaired stream's shard order, then its shuffle buffer.</summary>
    ShardUnpairedOrder = 7,
    ShardUnpairedShuffle = 8,

    /// <summary>Shards: whether a sample keeps its captions (the label-ratio draw).</summary>
    ShardPairing = 9,
}

/// <summary>Random streams derived from (seed, epoch, index, stream) alone, so every augmentation, caption
/// choice and shuffle can be recomputed for any position, on any thread: this is what lets a resumed run
/// continue exactly where the killed one stopped without saving RNG states.</summary>
public static class DeterministicRandom
{
    public static Random For(int seed, long a, long b, RandomStream stream) =>
        new((int)(Mix(seed, a, b, (long)stream) & 0x7fffffff));

    static ulong Mix(params long[] parts)
    {
        ulong h = 0x9E3779B97F4A7C15UL;
        foreach (var p in parts)
        {
            h ^= (ulong)p + 0x9E3779B97F4A7C15UL + (h << 6) + (h >> 2);
            h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9UL; // SplitMix64 finaliser
            h = (h ^ (h >> 27)) * 0x94D049BB133111EBUL;
            h ^= h >> 31;
        }
        return h;
    }

    public static int[] Permutation(int count, int seed, long epoch, RandomStream stream)
    {
        var order = Enumerable.Range(0, count).ToArray();
        For(seed, epoch, 0, stream).Shuffle(order);
        return order;
    }
}
