namespace SemiClip.Training;

/// <summary>Everything one trainer step produced: the full-batch loss parts, the objective's diagnostics
/// (pseudo-label precision, plan entropy…), the learning rate the step used and the temperature after it.</summary>
public sealed record StepResult(
    IReadOnlyDictionary<string, double> Losses,
    IReadOnlyDictionary<string, double> Diagnostics,
    double Lr,
    double LogitScale
);

/// <summary>What the loop reports after each step (for progress bars and logs).</summary>
public sealed record StepReport(
    long Step,
    long TotalSteps,
    IReadOnlyDictionary<string, double> Losses,
    double Lr,
    double LogitScale,
    double SamplesPerSecond
);
