namespace SemiClip.Data;

/// <summary>Random streams derived from (seed, epoch, index, stream) alone, so every augmentation, caption
/// choice and shuffle can be recomputed for any position, on any thread: this is what lets a resumed run
/// continue exactly where the killed one stopped without saving RNG states.</summary>
public static class DeterministicRandom
{
    public static Random For(int seed, long a, long b = 0, long stream = 0) => new((int)(Mix(seed, a, b, stream) & 0x7fffffff));

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

    public static int[] Permutation(int count, int seed, long epoch, long stream)
    {
        var order = Enumerable.Range(0, count).ToArray();
        For(seed, epoch, 0, stream).Shuffle(order);
        return order;
    }
}
