using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

/// <summary>Assembles a method's named loss parts from <see cref="LossConfig"/>:
/// <list type="bullet">
/// <item>clip: <c>contrastive</c>.</item>
/// <item>sclip: <c>contrastive</c> (unpaired images as extra text→image negatives), <c>caption</c>
/// (pseudo-label plan), <c>keyword</c> (partial labels).</item>
/// <item>softclip: <c>soft</c> and <c>negatives</c> (λ-weighted).</item>
/// <item>sclip+softclip: SoftCLIP's soft targets for the paired part plus S-CLIP's caption and keyword terms.</item>
/// </list>
/// Weights are applied here, so the trainer only sums <see cref="LossOutput.Parts"/>.</summary>
public sealed class TrainingObjective(LossConfig config)
{
    public LossConfig Config { get; } = config;

    public LossOutput Compute(LossInputs x)
    {
        var output = new LossOutput();
        var unpaired = Config.UsesUnpaired ? x.UnpairedFeatures : null;
        if (Config.UsesUnpaired && unpaired is null)
            throw new ArgumentException($"method {LossConfig.MethodName(Config.Method)} needs unpaired image features.");
        var negatives = Config.UnpairedAsNegatives ? unpaired : null;

        if (Config.UsesSoftTargets)
        {
            var (imageIntra, textIntra) = Config.IntraSource == IntraModalSource.Tokens
                ? (IntraModalSimilarity.AttentionPooledTokens(x.ImageTokens ?? throw new ArgumentException("token intra-modal source needs image tokens"), null, Config.TokenAttentionTemperature),
                   IntraModalSimilarity.AttentionPooledTokens(x.TextTokens ?? throw new ArgumentException("token intra-modal source needs text tokens"), x.TextTokenMask, Config.TokenAttentionTemperature))
                : (IntraModalSimilarity.Pooled(x.ImageFeatures), IntraModalSimilarity.Pooled(x.TextFeatures));
            var (soft, neg) = SoftClipLoss.Compute(x.ImageFeatures, x.TextFeatures, x.LogitScale, imageIntra, textIntra,
                Config.SoftAlpha, Config.SoftTemperature, negatives);
            output.Add("soft", soft);
            if (Config.NegativesWeight > 0) output.Add("negatives", neg.Times(Config.NegativesWeight));
        }
        else
        {
            output.Add("contrastive", ClipContrastiveLoss.Compute(x.ImageFeatures, x.TextFeatures, x.LogitScale, negatives));
        }

        if (unpaired is not null && (Config.CaptionWeight > 0 || Config.UsesKeywords))
        {
            var plan = PseudoLabeler.Assign(unpaired, x.ImageFeatures, x.LogitScale, Config.PseudoLabel, Config.SinkhornIterations, Config.DetachPlan);
            PseudoLabelDiagnostics.Measure(plan, x.PairedClasses, x.UnpairedClasses, output.Diagnostics);
            if (Config.CaptionWeight > 0)
                output.Add("caption", CaptionPseudoLabelLoss.Compute(unpaired, x.TextFeatures, x.LogitScale, plan).Times(Config.CaptionWeight));
            if (Config.UsesKeywords)
            {
                if (x.KeywordFeatures is null || x.KeywordLabels is null)
                    throw new ArgumentException("the keyword loss needs keyword features and per-caption keyword labels (give a keyword file, or set keyword weight 0).");
                var targets = KeywordPartialLabelLoss.Targets(unpaired, x.KeywordFeatures, x.LogitScale, plan, x.KeywordLabels);
                PseudoLabelDiagnostics.MeasureKeywords(plan, x.KeywordLabels, x.UnpairedClassKeyword, output.Diagnostics);
                output.Add("keyword", KeywordPartialLabelLoss.Compute(unpaired, x.KeywordFeatures, x.LogitScale, targets).Times(Config.KeywordWeight));
            }
        }
        return output;
    }
}
