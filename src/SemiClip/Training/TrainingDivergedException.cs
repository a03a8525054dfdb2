namespace SemiClip.Training;

/// <summary>The loss became NaN or infinite; names the step, the loss parts and the checkpoint to go back to.</summary>
public sealed class TrainingDivergedException(
    long step,
    IReadOnlyDictionary<string, double> parts,
    string? lastCheckpoint
)
    : Exception(
        $"training diverged at step {step}: loss parts {string.Join(", ", parts.Select(p => $"{p.Key}={p.Value}"))}; "
            + (lastCheckpoint is null ? "no checkpoint was written yet." : $"last good checkpoint: {lastCheckpoint}")
    )
{
    public long Step { get; } = step;
    public IReadOnlyDictionary<string, double> Parts { get; } = parts;
    public string? LastCheckpoint { get; } = lastCheckpoint;

    /// <summary>The same divergence, naming <paramref name="checkpoint"/> (the loop's newest) to go back to.</summary>
    public TrainingDivergedException After(string? checkpoint) => new(Step, Parts, checkpoint);
}
