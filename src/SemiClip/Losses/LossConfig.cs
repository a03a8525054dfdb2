using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SemiClip.Losses;

/// <summary>Which training objective: the CLIP baseline, S-CLIP, SoftCLIP, or S-CLIP's pseudo-label
/// terms on top of SoftCLIP's soft paired targets. Written in configs as clip, sclip, softclip,
/// sclip+softclip.</summary>
[JsonConverter(typeof(TrainingMethodConverter))]
public enum TrainingMethod
{
    Clip,
    SClip,
    SoftClip,
    SClipSoftClip,
}

/// <summary>How unpaired images get caption-level pseudo-labels (alinlab/s-clip's options).</summary>
public enum PseudoLabelKind
{
    OptimalTransport,
    HardNearest,
    SoftNearest,
}

/// <summary>Where SoftCLIP's intra-modal similarity comes from: the model being trained (pooled embeddings
/// or attention-pooled tokens), or a frozen copy of the starting model (the teacher).</summary>
public enum IntraModalSource
{
    Pooled,
    Tokens,
    Teacher,
}

/// <summary>Every weight and switch of the objectives; the trainer never looks inside. In config files it
/// is the <c>loss</c> section; the method is the top-level <c>method</c> field.</summary>
public sealed record LossConfig
{
    [JsonIgnore]
    public TrainingMethod Method { get; init; } = TrainingMethod.Clip;

    // S-CLIP
    [Description("S-CLIP: unpaired images join the contrastive loss as extra negatives")]
    public bool UnpairedAsNegatives { get; init; } = true;

    [Description("S-CLIP: weight of the caption-level (optimal transport) pseudo-label loss")]
    public double CaptionWeight { get; init; } = 1.0;

    [Description("S-CLIP: weight of the keyword partial-label loss (needs keywords)")]
    public double KeywordWeight { get; init; } = 1.0;

    [Description("S-CLIP: optimal_transport | hard_nearest | soft_nearest")]
    public PseudoLabelKind PseudoLabel { get; init; } = PseudoLabelKind.OptimalTransport;

    [Description("S-CLIP: Sinkhorn iterations of the transport plan")]
    public int SinkhornIterations { get; init; } = 10;

    /// <summary>false (the reference): gradients flow through the Sinkhorn iterations into the image
    /// features; true: the plan is a fixed target.</summary>
    [Description("S-CLIP: true stops gradients through the plan (the reference keeps them)")]
    public bool DetachPlan { get; init; }

    /// <summary>0 (the reference): the transport step matches unpaired images against the batch's paired
    /// images only. N &gt; 0: also against a queue of the N most recent paired image/caption features.</summary>
    [Description("S-CLIP: recent paired features the transport also matches against (0: the batch only)")]
    public int SupportQueueSize { get; init; }

    /// <summary>0 (the reference): pseudo-label losses at full weight from the first step. N &gt; 0: their
    /// weight rises linearly from 0 to 1 over the first N steps, while the image features are still poor.</summary>
    [Description("S-CLIP: pseudo-label weights rise from 0 over this many steps (0: full from the start)")]
    public long PseudoLabelRampSteps { get; init; }

    /// <summary>1 (the reference): every unpaired image trains the pseudo-label terms. f &lt; 1: only the
    /// fraction f whose plan rows have the lowest entropy (<see cref="ConfidentPseudoLabels"/>).</summary>
    [Description(
        "S-CLIP: fraction of unpaired images, most confident plan rows first, that train the pseudo-label terms (1: "
            + "all)"
    )]
    public double PseudoLabelKeep { get; init; } = 1.0;

    /// <summary>0 (the reference): the transport's entropic regularisation is ε = 1/s, the current
    /// temperature. ε &gt; 0: that fixed value, for models whose s is far from a trained CLIP's 100.</summary>
    [Description("S-CLIP: fixed entropic regularisation of the transport (0: 1/logit scale, as the reference)")]
    public double SinkhornEpsilon { get; init; }

    // SoftCLIP
    [Description("SoftCLIP: weight α of the intra-modal soft target against the identity")]
    public double SoftAlpha { get; init; } = 0.2;

    [Description("SoftCLIP: temperature τ of the intra-modal softmax")]
    public double SoftTemperature { get; init; } = 0.1;

    [Description("SoftCLIP: weight λ of the negatives-only KL term")]
    public double NegativesWeight { get; init; } = 1.0;

    /// <summary>Unset: <see cref="IntraModalSource.Teacher"/> when the run starts from weights, otherwise
    /// <see cref="IntraModalSource.Pooled"/>; the run's config.json records the effective value.</summary>
    [Description(
        "SoftCLIP: teacher (frozen starting model) | pooled | tokens (unset: teacher with pretrained, else pooled)"
    )]
    public IntraModalSource? IntraSource { get; init; }

    [Description("SoftCLIP tokens source: temperature of the token attention pooling")]
    public double TokenAttentionTemperature { get; init; } = 0.1;

    [JsonIgnore]
    public bool UsesUnpaired => Method is TrainingMethod.SClip or TrainingMethod.SClipSoftClip;

    [JsonIgnore]
    public bool UsesSoftTargets => Method is TrainingMethod.SoftClip or TrainingMethod.SClipSoftClip;

    [JsonIgnore]
    public bool UsesKeywords => UsesUnpaired && KeywordWeight > 0;

    [JsonIgnore]
    public bool NeedsTokens => UsesSoftTargets && IntraSource == IntraModalSource.Tokens;

    [JsonIgnore]
    public bool NeedsTeacher => UsesSoftTargets && IntraSource == IntraModalSource.Teacher;

    /// <summary>This config with the intra-modal source resolved for a run that does or does not start from
    /// weights.</summary>
    public LossConfig ResolveIntraSource(bool startsFromWeights)
    {
        var source = IntraSource ?? (startsFromWeights ? IntraModalSource.Teacher : IntraModalSource.Pooled);
        if (UsesSoftTargets && source == IntraModalSource.Teacher && !startsFromWeights)
            throw new ArgumentException(
                "loss.intra_source: teacher needs a starting model to freeze as the teacher (set pretrained), "
                    + "or choose intra_source: pooled or tokens for a run from scratch."
            );
        return this with { IntraSource = source };
    }

    public static TrainingMethod ParseMethod(string s) =>
        s.Trim().ToLowerInvariant() switch
        {
            "clip" => TrainingMethod.Clip,
            "sclip" or "s-clip" => TrainingMethod.SClip,
            "softclip" => TrainingMethod.SoftClip,
            "sclip+softclip" or "s-clip+softclip" => TrainingMethod.SClipSoftClip,
            _ => throw new ArgumentException($"method '{s}' is not one of clip, sclip, softclip, sclip+softclip."),
        };

    public static string MethodName(TrainingMethod m) =>
        m switch
        {
            TrainingMethod.Clip => "clip",
            TrainingMethod.SClip => "sclip",
            TrainingMethod.SoftClip => "softclip",
            _ => "sclip+softclip",
        };
}

/// <summary>Reads a method as configs and <c>--method</c> spell it (<see cref="LossConfig.ParseMethod"/>, aliases
/// included) and writes its canonical name.</summary>
public sealed class TrainingMethodConverter : JsonConverter<TrainingMethod>
{
    public override TrainingMethod Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException("a method is text");
        try
        {
            return LossConfig.ParseMethod(reader.GetString()!);
        }
        catch (ArgumentException e)
        {
            throw new JsonException(e.Message);
        }
    }

    public override void Write(Utf8JsonWriter writer, TrainingMethod value, JsonSerializerOptions options) =>
        writer.WriteStringValue(LossConfig.MethodName(value));
}
