using System.Globalization;
using System.Text;
using System.Text.Json;
using SemiClip.IO;

namespace SemiClip.Evaluation;

/// <summary>Writes report.json (machine-readable) and report.md (for people) into a run folder.</summary>
public static class ReportWriter
{
    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void Write(string folder, EvaluationReport report)
    {
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(report, Json));
        AtomicFile.WriteAllText(Path.Combine(folder, "report.md"), Markdown(report));
    }

    public static EvaluationReport Read(string folder)
    {
        var path = Path.Combine(folder, "report.json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{folder}: no report.json (run semiclip eval first).", path);
        // A report older than the weights beside it describes another model (a resumed or retrained run).
        var weights = Path.Combine(folder, "model.safetensors");
        if (File.Exists(weights) && File.GetLastWriteTimeUtc(weights) > File.GetLastWriteTimeUtc(path))
            throw new InvalidDataException(
                $"{path}: older than {weights}, so it evaluates earlier weights; run semiclip eval "
                    + $"--model {folder} again."
            );
        return JsonSerializer.Deserialize<EvaluationReport>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"{path}: empty report.");
    }

    public static string Pct(double v) =>
        double.IsNaN(v) ? "n/a" : (100 * v).ToString("F1", CultureInfo.InvariantCulture);

    public static string Markdown(EvaluationReport r)
    {
        var sb = new StringBuilder($"# Evaluation of {r.Model}\n\n");
        if (r.ZeroShot is { } z)
        {
            sb.Append(
                $"## Zero-shot classification\n\n{z.Dataset}: {z.Images} images, {z.Classes} classes, {z.Templates} "
                    + $"template(s).\n\n"
            );
            sb.Append(
                $"| top-1 | top-5 |\n|---|---|\n| {Pct(z.Top1)} | {Pct(z.Top5)} |\n\n| class | accuracy |\n|---|---|\n"
            );
            foreach (var (c, a) in z.PerClass)
                sb.Append($"| {c} | {Pct(a)} |\n");
            sb.Append('\n');
        }
        if (r.Retrieval is { } t)
        {
            sb.Append(
                $"## Retrieval\n\n{t.Dataset}: {t.Images} images, {t.Captions} captions, protocol {t.Protocol}.\n\n"
            );
            sb.Append("| I→T R@1 | R@5 | R@10 | T→I R@1 | R@5 | R@10 | mean |\n|---|---|---|---|---|---|---|\n");
            sb.Append(
                $"| {Pct(t.ImageToTextR1)} | {Pct(t.ImageToTextR5)} | {Pct(t.ImageToTextR10)} | "
                    + $"{Pct(t.TextToImageR1)} | {Pct(t.TextToImageR5)} | {Pct(t.TextToImageR10)} | "
                    + $"{Pct(t.MeanRecall)} |\n\n"
            );
        }
        if (r.LinearProbe is { } l)
            sb.Append(
                $"## Linear probe\n\n{l.TrainDataset} → {l.TestDataset}: accuracy {Pct(l.TestAccuracy)} (L2 "
                    + $"{l.ChosenL2.ToString(CultureInfo.InvariantCulture)})\n\n"
            );
        if (r.SkippedInputs.Count > 0)
            sb.Append(
                $"## Skipped inputs ({r.SkippedInputs.Count})\n\n"
                    + string.Join("\n", r.SkippedInputs.Select(s => "- " + s))
                    + "\n"
            );
        return sb.ToString();
    }
}
