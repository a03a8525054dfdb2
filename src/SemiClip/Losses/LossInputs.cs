using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

/// <summary>What one step hands to the objective. Features are L2-normalised; <see cref="LogitScale"/>
/// is s = exp(logit_scale). Optional parts are present when the method needs them.</summary>
public sealed record LossInputs(Tensor ImageFeatures, Tensor TextFeatures, Tensor LogitScale)
{
    /// <summary>U×D unpaired image features (S-CLIP).</summary>
    public Tensor? UnpairedFeatures { get; init; }

    /// <summary>K×D keyword text features (S-CLIP keyword loss).</summary>
    public Tensor? KeywordFeatures { get; init; }

    /// <summary>B×K multi-hot: keywords present in each paired caption.</summary>
    public Tensor? KeywordLabels { get; init; }

    /// <summary>B×L×D image tokens and B×L×D text tokens with a B×L validity mask (SoftCLIP, token source).</summary>
    public Tensor? ImageTokens { get; init; }
    public Tensor? TextTokens { get; init; }
    public Tensor? TextTokenMask { get; init; }

    /// <summary>The batch's image classes, for diagnostics only (never part of a loss).</summary>
    public BatchClasses? Labels { get; init; }

    /// <summary>Recent paired features that widen S-CLIP's transport step (<see
    /// cref="LossConfig.SupportQueueSize"/>).</summary>
    public SupportQueue? Support { get; init; }

    /// <summary>B×D normalised features of the same images and captions from the frozen starting model
    /// (SoftCLIP's teacher source).</summary>
    public Tensor? TeacherImageFeatures { get; init; }
    public Tensor? TeacherTextFeatures { get; init; }

    /// <summary>The optimisation step (for warm-ups inside the objective).</summary>
    public long Step { get; init; }
}
