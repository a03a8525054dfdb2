namespace SemiClip.Training;

/// <summary>A <see cref="TrainConfig"/> that passed <see cref="TrainConfigValidator"/>, with its effective values
/// filled in. Only the validator makes one, so a config nobody checked (a method whose loss section was never
/// resolved, an accumulation that does not divide the batch) cannot reach a <see cref="Trainer"/> or a run.</summary>
public sealed class ValidatedTrainConfig
{
    internal ValidatedTrainConfig(TrainConfig values) => Values = values;

    /// <summary>The effective values: what <c>config.json</c> records.</summary>
    public TrainConfig Values { get; }
}
