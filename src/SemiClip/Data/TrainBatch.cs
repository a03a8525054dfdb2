using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Data;

/// <summary>Where a loader stands: the epoch and the batch within it. Saved in checkpoints. A streamed source
/// that replaced unreadable samples (skip_bad) also records how many extra samples it drew, in this epoch of
/// the paired stream and overall from the unpaired one, so a resumed stream skips exactly as many.</summary>
public readonly record struct LoaderPosition(int Epoch, int Batch)
{
    public long PairedSkipped { get; init; }
    public long UnpairedSkipped { get; init; }
}

/// <summary>A batch assembled on the host: contiguous arrays, turned into tensors by the consumer.</summary>
public sealed class HostBatch
{
    public required LoaderPosition Position { get; init; }

    /// <summary>The position of the batch after this one: where a run resumes once this batch has trained.</summary>
    public required LoaderPosition Next { get; init; }
    public required float[] Images { get; init; }
    public required long[] Tokens { get; init; }
    public float[]? KeywordLabels { get; init; }
    public float[]? Unpaired { get; init; }
    public required int Count { get; init; }
    public int UnpairedCount { get; init; }
    public required IReadOnlyList<string> Captions { get; init; }

    /// <summary>Which image each row of <see cref="Images"/> and <see cref="Unpaired"/> is (its path), where the
    /// source knows: what a cache of per-image features is keyed by.</summary>
    public IReadOnlyList<string>? ImageKeys { get; init; }
    public IReadOnlyList<string>? UnpairedKeys { get; init; }

    /// <summary>The images' classes as <see cref="BatchClasses"/> holds them, as arrays; present when the data has
    /// labels. Diagnostics only.</summary>
    public HostBatchClasses? Labels { get; init; }
}

/// <summary>Host arrays of <see cref="BatchClasses"/>.</summary>
public sealed record HostBatchClasses(long[] Paired, long[]? Unpaired, long[]? UnpairedKeyword);

/// <summary>One training step's tensors (on the CPU; the trainer moves them).</summary>
public sealed class TrainBatch : IDisposable
{
    public required LoaderPosition Position { get; init; }

    /// <summary>The position of the batch after this one: a checkpoint taken after this step saves it.</summary>
    public required LoaderPosition Next { get; init; }
    public required Tensor Images { get; init; }
    public required Tensor Tokens { get; init; }
    public Tensor? KeywordLabels { get; init; }
    public Tensor? Unpaired { get; init; }
    public BatchClasses? Labels { get; init; }

    /// <summary>As <see cref="HostBatch.ImageKeys"/>; each row of <see cref="Tokens"/> is its caption.</summary>
    public IReadOnlyList<string>? ImageKeys { get; init; }
    public IReadOnlyList<string>? UnpairedKeys { get; init; }
    public IReadOnlyList<string>? TextKeys { get; init; }

    /// <summary>Copies the host arrays into new tensors and hands the image buffers back to the pool.</summary>
    public static TrainBatch FromHost(HostBatch h, int imageSize, int contextLength, int keywordCount)
    {
        var batch = new TrainBatch
        {
            Position = h.Position,
            Next = h.Next,
            Images = Copy(
                h.Images,
                h.Count * 3 * imageSize * imageSize,
                new long[] { h.Count, 3, imageSize, imageSize }
            ),
            Tokens = tensor(h.Tokens, new long[] { h.Count, contextLength }),
            KeywordLabels = h.KeywordLabels is null
                ? null
                : tensor(h.KeywordLabels, new long[] { h.Count, keywordCount }),
            Unpaired = h.Unpaired is null
                ? null
                : Copy(
                    h.Unpaired,
                    h.UnpairedCount * 3 * imageSize * imageSize,
                    new long[] { h.UnpairedCount, 3, imageSize, imageSize }
                ),
            Labels = h.Labels is { } l ? BatchClasses.FromArrays(l.Paired, l.Unpaired, l.UnpairedKeyword) : null,
            ImageKeys = h.ImageKeys,
            UnpairedKeys = h.UnpairedKeys,
            TextKeys = h.Captions,
        };
        ImageBuffers.Return(h.Images);
        if (h.Unpaired != null)
            ImageBuffers.Return(h.Unpaired);
        return batch;
    }

    /// <summary>Image batches are megabytes each: renting them instead of allocating keeps the garbage
    /// collector (and TorchSharp's finalizers) quiet during training steps.</summary>
    public static readonly System.Buffers.ArrayPool<float> ImageBuffers = System.Buffers.ArrayPool<float>.Create(
        64 << 20,
        16
    );

    static Tensor Copy(float[] data, int count, long[] shape)
    {
        var t = empty(shape, float32);
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan(0, count)).CopyTo(t.bytes);
        return t;
    }

    public void Dispose()
    {
        Images.Dispose();
        Tokens.Dispose();
        KeywordLabels?.Dispose();
        Unpaired?.Dispose();
        Labels?.Dispose();
    }
}
