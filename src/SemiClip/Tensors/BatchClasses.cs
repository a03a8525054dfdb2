using static TorchSharp.torch;

namespace SemiClip.Tensors;

/// <summary>Class ids of a batch's paired and unpaired images (−1 unknown) and, per unpaired image, the index of the
/// keyword naming its class (−1 none), on the CPU. Present when the data has labels; pseudo-label diagnostics compare
/// against them, and no loss reads them. One object beside the batch, from the loader through the trainer to the
/// objective.</summary>
public sealed record BatchClasses(Tensor Paired, Tensor? Unpaired, Tensor? UnpairedKeyword) : IDisposable
{
    public static BatchClasses FromArrays(long[] paired, long[]? unpaired, long[]? unpairedKeyword) =>
        new(
            tensor(paired),
            unpaired is null ? null : tensor(unpaired),
            unpairedKeyword is null ? null : tensor(unpairedKeyword)
        );

    public void Dispose()
    {
        Paired.Dispose();
        Unpaired?.Dispose();
        UnpairedKeyword?.Dispose();
    }
}
