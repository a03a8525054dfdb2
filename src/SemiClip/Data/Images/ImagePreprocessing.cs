using System.Globalization;
using System.Text.Json.Nodes;
using SkiaSharp;

namespace SemiClip.Data.Images;

/// <summary>How a model expects its images: the normalisation it was trained with and how an image is brought to its
/// input size. It travels with the model (the <c>preprocess_cfg</c> of its config, open_clip's names), so evaluation,
/// embedding and export prepare images exactly as training did. Unset: OpenAI's CLIP preprocessing.</summary>
public sealed record ImagePreprocessing
{
    public static readonly (double R, double G, double B) OpenAiMean = (0.48145466, 0.4578275, 0.40821073);
    public static readonly (double R, double G, double B) OpenAiStd = (0.26862954, 0.26130258, 0.27577711);

    public (double R, double G, double B) Mean { get; init; } = OpenAiMean;
    public (double R, double G, double B) Std { get; init; } = OpenAiStd;

    /// <summary>bicubic (PIL's kernel, as OpenAI), bilinear or nearest.</summary>
    public string Interpolation { get; init; } = "bicubic";

    /// <summary>shortest: the shorter side to the input size, then a centre crop (OpenAI's; cuts the borders of a
    /// non-square image). squash: both sides to the input size, ignoring the aspect ratio. longest: the longer side to
    /// the input size, then padding with <see cref="FillColor"/> (keeps all of a figure or a map tile).</summary>
    public string ResizeMode { get; init; } = "shortest";

    /// <summary>RGB (grey images are replicated into three channels as they decode), or L: every image is turned to
    /// grey first (ITU-R 601 luma, as PIL's "L"), for models of one-channel data such as radiographs.</summary>
    public string Mode { get; init; } = "RGB";

    /// <summary>The padding grey level (0–255) of resize mode longest.</summary>
    public int FillColor { get; init; }

    public static readonly IReadOnlyList<string> Interpolations = Array.AsReadOnly<string>([
        "bicubic",
        "bilinear",
        "nearest",
    ]);
    public static readonly IReadOnlyList<string> ResizeModes = Array.AsReadOnly<string>([
        "shortest",
        "squash",
        "longest",
    ]);
    public static readonly IReadOnlyList<string> Modes = Array.AsReadOnly<string>(["RGB", "L"]);

    /// <summary>The problems of this setting, each naming its open_clip field; empty when it is usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (!Interpolations.Contains(Interpolation))
            problems.Add($"interpolation '{Interpolation}' is not one of {string.Join(", ", Interpolations)}");
        if (!ResizeModes.Contains(ResizeMode))
            problems.Add($"resize_mode '{ResizeMode}' is not one of {string.Join(", ", ResizeModes)}");
        if (!Modes.Contains(Mode))
            problems.Add($"mode '{Mode}' is not one of {string.Join(", ", Modes)}");
        if (!(Std.R > 0 && Std.G > 0 && Std.B > 0))
            problems.Add($"std {Text(Std)} must be positive in every channel");
        if (FillColor is < 0 or > 255)
            problems.Add($"fill_color {FillColor} is not a grey level in 0–255");
        return problems;
    }

    public SKSamplingOptions Sampling =>
        Interpolation switch
        {
            "bilinear" => new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None),
            "nearest" => new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None),
            _ => ImagePreprocessor.Bicubic,
        };

    /// <summary>open_clip's <c>preprocess_cfg</c> form.</summary>
    public JsonObject ToJson() =>
        new()
        {
            ["mean"] = new JsonArray(Mean.R, Mean.G, Mean.B),
            ["std"] = new JsonArray(Std.R, Std.G, Std.B),
            ["interpolation"] = Interpolation,
            ["resize_mode"] = ResizeMode,
            ["mode"] = Mode,
            ["fill_color"] = FillColor,
        };

    /// <summary>Reads a <c>preprocess_cfg</c> object; absent fields keep OpenAI's values.</summary>
    public static ImagePreprocessing Parse(JsonNode? node, string source)
    {
        var p = new ImagePreprocessing();
        if (node is null)
            return p;
        if (node is not JsonObject o)
            throw new InvalidDataException($"{source}: preprocess_cfg must be an object.");
        (double, double, double) Triple(string field, (double, double, double) fallback)
        {
            if (o[field] is null)
                return fallback;
            if (o[field] is JsonArray { Count: 3 } a && a.All(x => x is JsonValue v && v.TryGetValue<double>(out _)))
                return (a[0]!.GetValue<double>(), a[1]!.GetValue<double>(), a[2]!.GetValue<double>());
            if (o[field] is JsonValue single && single.TryGetValue<double>(out var s))
                return (s, s, s); // open_clip allows one value
            throw new InvalidDataException($"{source}: preprocess_cfg.{field} must be three numbers (R, G, B).");
        }
        string Str(string field, string fallback) =>
            o[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : fallback;
        p = p with
        {
            Mean = Triple("mean", p.Mean),
            Std = Triple("std", p.Std),
            Interpolation = Str("interpolation", p.Interpolation),
            ResizeMode = Str("resize_mode", p.ResizeMode),
            Mode = Str("mode", p.Mode),
            FillColor = o["fill_color"] is JsonValue f && f.TryGetValue<int>(out var fill) ? fill : 0,
        };
        if (p.Problems() is { Count: > 0 } problems)
            throw new InvalidDataException($"{source}: preprocess_cfg: {string.Join("; ", problems)}.");
        return p;
    }

    static string Text((double R, double G, double B) v) =>
        string.Create(CultureInfo.InvariantCulture, $"[{v.R}, {v.G}, {v.B}]");
}
