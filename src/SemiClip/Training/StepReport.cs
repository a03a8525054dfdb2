namespace SemiClip.Training;

/// <summary>What the trainer reports after each step (for progress bars and logs).</summary>
public sealed record StepReport(long Step, long TotalSteps, IReadOnlyDictionary<string, double> Losses, double Lr, double LogitScale, double SamplesPerSecond);
