using System.Runtime.InteropServices;

namespace SemiClip.Data.Shards;

/// <summary>webdataset's bounded shuffle: keep <c>capacity</c> items; once full, each arriving item replaces
/// a randomly chosen one, which is emitted; at the end the rest leave in random order. Memory is bounded by
/// the capacity, not the stream, and the output depends only on the input order and the random stream.</summary>
public static class ShuffleBuffer
{
    public static IEnumerable<T> Shuffle<T>(IEnumerable<T> source, int capacity, Random rng)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var buffer = new List<T>(Math.Min(capacity, 1 << 16));
        foreach (var item in source)
        {
            if (buffer.Count < capacity)
            {
                buffer.Add(item);
                continue;
            }
            int slot = rng.Next(capacity);
            yield return buffer[slot];
            buffer[slot] = item;
        }
        var rest = CollectionsMarshal.AsSpan(buffer).ToArray();
        rng.Shuffle(rest);
        foreach (var item in rest)
            yield return item;
    }
}
