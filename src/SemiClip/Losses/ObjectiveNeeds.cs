namespace SemiClip.Losses;

/// <summary>Inputs an objective can ask the trainer for, beyond the paired image and caption features every
/// objective gets.</summary>
[Flags]
public enum ObjectiveInput
{
    None = 0,

    /// <summary>Features of the step's unpaired images.</summary>
    UnpairedImages = 1,

    /// <summary>Features of the keyword list, with gradient, and each paired caption's keyword labels.</summary>
    KeywordFeatures = 2,

    /// <summary>Per-token image and text features (before pooling), with the text's validity mask.</summary>
    TokenFeatures = 4,

    /// <summary>Features of the same images and captions from a frozen copy of the starting model.</summary>
    TeacherFeatures = 8,
}

/// <summary>What an objective needs from a training step; the trainer gathers exactly this and knows no
/// method by name.</summary>
/// <param name="SupportQueueSize">Recent paired features to keep across steps (0: none).</param>
public sealed record ObjectiveNeeds(ObjectiveInput Inputs, int SupportQueueSize = 0)
{
    public bool Has(ObjectiveInput input) => (Inputs & input) == input;
}

/// <summary>A training objective: says what it needs, then turns one step's inputs into named, weighted loss
/// parts.</summary>
public interface ITrainingObjective
{
    ObjectiveNeeds Needs { get; }
    LossOutput Compute(LossInputs inputs);
}
