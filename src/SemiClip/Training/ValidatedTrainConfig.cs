namespace SemiClip.Training;

/// <summary>A <see cref="TrainConfig"/> that passed <see cref="TrainConfigValidator"/>, with its effective values
/// filled in. Only the validator makes one, so a config nobody checked (a method whose loss section was never
/// resolved, an accumulation that does not divide the batch) cannot reach a <see cref="Trainer"/> or a run.</summary>
public sealed class ValidatedTrainConfig
{
    internal ValidatedTrainConfig(TrainConfig values, bool filesChecked) =>
        (Values, FilesChecked) = (values, filesChecked);

    /// <summary>The effective values: what <c>config.json</c> records.</summary>
    public TrainConfig Values { get; }

    /// <summary>True when the files the run names were checked too (<see cref="TrainConfigValidator.Validate"/>),
    /// false for the settings alone (<see cref="TrainConfigValidator.ValidateSettings"/>).</summary>
    public bool FilesChecked { get; }
}
