using System.Globalization;
using System.Text;
using System.Text.Json;
using SemiClip.Cli.Ui;
using SemiClip.Evaluation;
using SemiClip.IO;
using SemiClip.Model;

namespace SemiClip.Cli.Commands;

/// <summary><c>eval --wise-to</c>: the same evaluations at each interpolation weight between two models
/// (<see cref="WeightInterpolation"/>), as a table.</summary>
public static class WiseSweep
{
    public sealed record Point(double Alpha, EvaluationReport Report);

    public static double[] ParseAlphas(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(a =>
                double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
                    ? v is >= 0 and <= 1
                        ? v
                        : throw new ArgumentException(
                            $"--alphas: {a} is outside [0, 1] (0 is the model, 1 is --wise-to), as interpolate's "
                                + "--alpha."
                        )
                    : throw new ArgumentException($"--alphas: '{a}' is not a number.")
            )
            .ToArray();

    public static List<Point> Run(
        ModelBundle from,
        ModelBundle to,
        double[] alphas,
        string fromName,
        string toName,
        Func<ModelBundle, string, EvaluationReport> evaluate
    )
    {
        var points = new List<Point>();
        foreach (var alpha in alphas)
        {
            using var mixed = WeightInterpolation.Interpolate(from.Model, to.Model, alpha, fromName, toName);
            var report = evaluate(
                new ModelBundle(mixed, from.Tokenizer),
                $"(1-{alpha.ToString(CultureInfo.InvariantCulture)})·{fromName} + "
                    + $"{alpha.ToString(CultureInfo.InvariantCulture)}·{toName}"
            );
            points.Add(new Point(alpha, report));
            ConsoleUi.Line(
                $"alpha {alpha.ToString(CultureInfo.InvariantCulture)}: "
                    + (report.ZeroShot is { } z ? $"zero-shot top-1 {ReportWriter.Pct(z.Top1)}" : "")
                    + (report.Retrieval is { } r ? $" retrieval {ReportWriter.Pct(r.MeanRecall)}" : "")
            );
        }
        return points;
    }

    public static void Write(string folder, IReadOnlyList<Point> points)
    {
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(
            Path.Combine(folder, "wise.json"),
            JsonSerializer.Serialize(
                points.Select(p => new
                {
                    alpha = p.Alpha,
                    zero_shot_top1 = p.Report.ZeroShot?.Top1,
                    zero_shot_top5 = p.Report.ZeroShot?.Top5,
                    retrieval_mean_recall = p.Report.Retrieval?.MeanRecall,
                    linear_probe = p.Report.LinearProbe?.TestAccuracy,
                }),
                new JsonSerializerOptions { WriteIndented = true }
            )
        );
        var md = new StringBuilder(
            "| α | zero-shot top-1 | zero-shot top-5 | retrieval mean recall | linear probe |\n|---|---|---|---|---|\n"
        );
        foreach (var p in points)
            md.Append(
                $"| {p.Alpha.ToString(CultureInfo.InvariantCulture)} | {Pct(p.Report.ZeroShot?.Top1)} | "
                    + $"{Pct(p.Report.ZeroShot?.Top5)} | {Pct(p.Report.Retrieval?.MeanRecall)} | "
                    + $"{Pct(p.Report.LinearProbe?.TestAccuracy)} |\n"
            );
        AtomicFile.WriteAllText(Path.Combine(folder, "wise.md"), md.ToString());
        ConsoleUi.Table(
            "WiSE-FT sweep (%)",
            ["alpha", "zero-shot top-1", "retrieval mean recall"],
            points
                .Select(p =>
                    new[]
                    {
                        p.Alpha.ToString(CultureInfo.InvariantCulture),
                        Pct(p.Report.ZeroShot?.Top1),
                        Pct(p.Report.Retrieval?.MeanRecall),
                    }
                )
                .ToList()
        );
    }

    static string Pct(double? v) => v is double d ? ReportWriter.Pct(d) : "";
}
