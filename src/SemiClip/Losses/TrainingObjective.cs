using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

/// <summary>Assembles a method's named loss parts from <see cref="LossConfig"/>:
/// <list type="bullet">
/// <item>clip: <c>contrastive</c>.</item>
/// <item>sclip: <c>contrastive</c> (unpaired images as extra text→image negatives, all of them), <c>caption</c>
/// (pseudo-label plan), <c>keyword</c> (partial labels); the last two over the confident unpaired rows only
/// when <see cref="LossConfig.PseudoLabelKeep"/> &lt; 1.</item>
/// <item>softclip: <c>soft</c> and <c>negatives</c> (λ-weighted).</item>
/// <item>sclip+softclip: SoftCLIP's soft targets for the paired part plus S-CLIP's caption and keyword terms.</item>
/// </list>
/// Weights are applied here, so the trainer only sums <see cref="LossOutput.Parts"/>.</summary>
public sealed class TrainingObjective(LossConfig config) : ITrainingObjective
{
    public LossConfig Config { get; } = config;

    /// <summary>The one place a method's configuration becomes a list of inputs for the trainer.</summary>
    public ObjectiveNeeds Needs { get; } =
        new(
            (config.UsesUnpaired ? ObjectiveInput.UnpairedImages : 0)
                | (config.UsesKeywords ? ObjectiveInput.KeywordFeatures : 0)
                | (config.NeedsTokens ? ObjectiveInput.TokenFeatures : 0)
                | (config.NeedsTeacher ? ObjectiveInput.TeacherFeatures : 0),
            config.UsesUnpaired ? config.SupportQueueSize : 0
        );

    public LossOutput Compute(LossInputs x)
    {
        var output = new LossOutput();
        var unpaired = Config.UsesUnpaired ? x.UnpairedFeatures : null;
        if (Config.UsesUnpaired && unpaired is null)
            throw new ArgumentException(
                $"method {LossConfig.MethodName(Config.Method)} needs unpaired image features."
            );
        var negatives = Config.UnpairedAsNegatives ? unpaired : null;

        if (Config.UsesSoftTargets)
        {
            var (imageIntra, textIntra) = Config.IntraSource switch
            {
                IntraModalSource.Tokens => (
                    IntraModalSimilarity.AttentionPooledTokens(
                        x.ImageTokens ?? throw new ArgumentException("token intra-modal source needs image tokens"),
                        null,
                        Config.TokenAttentionTemperature
                    ),
                    IntraModalSimilarity.AttentionPooledTokens(
                        x.TextTokens ?? throw new ArgumentException("token intra-modal source needs text tokens"),
                        x.TextTokenMask,
                        Config.TokenAttentionTemperature
                    )
                ),
                IntraModalSource.Teacher => (
                    IntraModalSimilarity.Pooled(
                        x.TeacherImageFeatures
                            ?? throw new ArgumentException(
                                "teacher intra-modal source needs the teacher's image features"
                            )
                    ),
                    IntraModalSimilarity.Pooled(
                        x.TeacherTextFeatures
                            ?? throw new ArgumentException(
                                "teacher intra-modal source needs the teacher's text features"
                            )
                    )
                ),
                _ => (IntraModalSimilarity.Pooled(x.ImageFeatures), IntraModalSimilarity.Pooled(x.TextFeatures)),
            };
            var (soft, neg) = SoftClipLoss.Compute(
                x.ImageFeatures,
                x.TextFeatures,
                x.LogitScale,
                imageIntra,
                textIntra,
                Config.SoftAlpha,
                Config.SoftTemperature,
                negatives
            );
            output.Add("soft", soft);
            if (Config.NegativesWeight > 0)
                output.Add("negatives", neg.Times(Config.NegativesWeight));
        }
        else
        {
            output.Add(
                "contrastive",
                ClipContrastiveLoss.Compute(x.ImageFeatures, x.TextFeatures, x.LogitScale, negatives)
            );
        }

        if (unpaired is not null && (Config.CaptionWeight > 0 || Config.UsesKeywords))
        {
            var (supportImages, supportTexts, supportKeywords, supportClasses) = (
                x.ImageFeatures,
                x.TextFeatures,
                x.KeywordLabels,
                x.Labels?.Paired
            );
            if (x.Support is { Count: > 0 } queue)
            {
                var (qi, qt, qk, qc) = queue.Entries;
                supportImages = cat([supportImages, qi.to(supportImages.dtype)], 0);
                supportTexts = cat([supportTexts, qt.to(supportTexts.dtype)], 0);
                supportKeywords =
                    supportKeywords is not null && qk is not null
                        ? cat([supportKeywords, qk.to(supportKeywords.dtype)], 0)
                        : null;
                supportClasses = supportClasses is not null && qc is not null ? cat([supportClasses, qc], 0) : null;
                output.Diagnostics["support_size"] = supportImages.shape[0];
            }
            double ramp =
                Config.PseudoLabelRampSteps > 0
                    ? Math.Min(1.0, (x.Step + 1) / (double)Config.PseudoLabelRampSteps)
                    : 1.0;
            var plan = PseudoLabeler.Assign(
                unpaired,
                supportImages,
                x.LogitScale,
                Config.PseudoLabel,
                Config.SinkhornIterations,
                Config.DetachPlan,
                Config.SinkhornEpsilon
            );
            PseudoLabelDiagnostics.Measure(plan, supportClasses, x.Labels?.Unpaired, output.Diagnostics);
            var unpairedClasses = x.Labels?.Unpaired;
            var unpairedClassKeyword = x.Labels?.UnpairedKeyword;
            if (Config.PseudoLabelKeep < 1)
            {
                var kept = ConfidentPseudoLabels.Rows(plan, Config.PseudoLabelKeep);
                (unpaired, plan) = (unpaired.index_select(0, kept), plan.index_select(0, kept));
                unpairedClasses = unpairedClasses?.index_select(0, kept.to(unpairedClasses.device));
                unpairedClassKeyword = unpairedClassKeyword?.index_select(0, kept.to(unpairedClassKeyword.device));
                var keptDiagnostics = new Dictionary<string, double>();
                PseudoLabelDiagnostics.Measure(plan, supportClasses, unpairedClasses, keptDiagnostics);
                foreach (var (k, v) in keptDiagnostics)
                    output.Diagnostics["kept_" + k] = v;
            }
            if (Config.CaptionWeight > 0)
                output.Add(
                    "caption",
                    CaptionPseudoLabelLoss
                        .Compute(unpaired, supportTexts, x.LogitScale, plan)
                        .Times(Config.CaptionWeight * ramp)
                );
            if (Config.UsesKeywords)
            {
                if (x.KeywordFeatures is null || supportKeywords is null)
                    throw new ArgumentException(
                        "the keyword loss needs keyword features and per-caption keyword "
                            + "labels (give a keyword file, or set keyword weight 0)."
                    );
                var targets = KeywordPartialLabelLoss.Targets(
                    unpaired,
                    x.KeywordFeatures,
                    x.LogitScale,
                    plan,
                    supportKeywords
                );
                PseudoLabelDiagnostics.MeasureKeywords(plan, supportKeywords, unpairedClassKeyword, output.Diagnostics);
                output.Add(
                    "keyword",
                    KeywordPartialLabelLoss
                        .Compute(unpaired, x.KeywordFeatures, x.LogitScale, targets)
                        .Times(Config.KeywordWeight * ramp)
                );
            }
        }
        return output;
    }
}
