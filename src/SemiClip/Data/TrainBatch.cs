using static TorchSharp.torch;

namespace SemiClip.Data;

/// <summary>Where a loader stands: the epoch and the batch within it. Saved in checkpoints.</summary>
public readonly record struct LoaderPosition(int Epoch, int Batch);

/// <summary>A batch assembled on the host: contiguous arrays, turned into tensors by the consumer.</summary>
public sealed class HostBatch
{
    public required LoaderPosition Position { get; init; }
    public required float[] Images { get; init; }
    public required long[] Tokens { get; init; }
    public float[]? KeywordLabels { get; init; }
    public float[]? Unpaired { get; init; }
    public required int Count { get; init; }
    public int UnpairedCount { get; init; }
    public required IReadOnlyList<string> Captions { get; init; }
}

/// <summary>One training step's tensors (on the CPU; the trainer moves them).</summary>
public sealed class TrainBatch : IDisposable
{
    public required LoaderPosition Position { get; init; }
    public required Tensor Images { get; init; }
    public required Tensor Tokens { get; init; }
    public Tensor? KeywordLabels { get; init; }
    public Tensor? Unpaired { get; init; }

    public static TrainBatch FromHost(HostBatch h, int imageSize, int contextLength, int keywordCount)
    {
        return new TrainBatch
        {
            Position = h.Position,
            Images = tensor(h.Images, new long[] { h.Count, 3, imageSize, imageSize }),
            Tokens = tensor(h.Tokens, new long[] { h.Count, contextLength }),
            KeywordLabels = h.KeywordLabels is null ? null : tensor(h.KeywordLabels, new long[] { h.Count, keywordCount }),
            Unpaired = h.Unpaired is null ? null : tensor(h.Unpaired, new long[] { h.UnpairedCount, 3, imageSize, imageSize }),
        };
    }

    public void Dispose()
    {
        Images.Dispose();
        Tokens.Dispose();
        KeywordLabels?.Dispose();
        Unpaired?.Dispose();
    }
}
