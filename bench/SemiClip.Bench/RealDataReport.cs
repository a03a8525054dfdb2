using System.Globalization;
using System.Text;
using System.Text.Json;
using ScottPlot;

namespace SemiClip.Bench;

/// <summary>Aggregates the real-data benchmark's per-run result files into <c>real-rsicd.json</c>, a
/// Markdown table (mean ± std over seeds, per-seed paired differences against CLIP at the same ratio)
/// and one curve chart per regime (zero-shot top-1 against step).</summary>
public static class RealDataReport
{
    public static List<Dictionary<string, double>> ReadMetrics(string path)
    {
        var rows = new List<Dictionary<string, double>>();
        if (!File.Exists(path))
            return rows;
        foreach (var line in File.ReadLines(path))
        {
            using var doc = JsonDocument.Parse(line);
            if (!doc.RootElement.TryGetProperty("kind", out var kind) || kind.GetString() != "train")
                continue;
            var row = new Dictionary<string, double>();
            foreach (var p in doc.RootElement.EnumerateObject())
                if (p.Value.ValueKind == JsonValueKind.Number)
                    row[p.Name] = p.Value.GetDouble();
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Mean of each diagnostic (and loss part) over the logged rows in the run's last quarter.</summary>
    public static Dictionary<string, double> LastQuarterMeans(List<Dictionary<string, double>> rows, long steps)
    {
        var tail = rows.Where(r => r.GetValueOrDefault("step") > 0.75 * steps).ToList();
        return tail.SelectMany(r => r.Keys)
            .Distinct()
            .Where(k =>
                k.StartsWith("diag_", StringComparison.Ordinal)
                || k is "caption" or "keyword" or "contrastive" or "logit_scale"
            )
            .ToDictionary(
                k => k.StartsWith("diag_", StringComparison.Ordinal) ? k[5..] : k,
                k => tail.Where(r => r.ContainsKey(k)).Average(r => r[k])
            );
    }

    public static void Write(string resultsDir, string outDir, string reportName = "real-rsicd")
    {
        var runs = Directory
            .GetFiles(resultsDir, "*.json")
            .Order(StringComparer.Ordinal)
            .Select(f =>
                JsonSerializer.Deserialize<RealDataBenchmark.RunRecord>(File.ReadAllText(f), BenchReport.Json)!
            )
            .ToList();
        if (runs.Count == 0)
            return;
        var md = new StringBuilder("# Real-data benchmark: RSICD captions on AID images (rsicd10k)\n\n");
        md.Append(
            "Command: `dotnet run --project bench/SemiClip.Bench -c Release -- real` (options in the records' names). "
        );
        md.Append(
            "tiny-vit (4×192, 64 px), a 2,000-merge BPE vocabulary learned from the train captions, batch 64 images "
                + "per step for every method "
        );
        md.Append(
            "(S-CLIP: 32 paired + 32 unpaired), AdamW, warm-up + cosine. *pretrained*: adapted from a CLIP trained "
                + "with all captions on the "
        );
        md.Append(
            "train images of 15 of the 30 classes; *scratch*: random initialisation. Zero-shot: AID classes of the "
                + "evaluation split's images, "
        );
        md.Append(
            "template \"an aerial photograph of {}.\"; retrieval: mean recall (R@1/5/10 both ways) over all five "
                + "captions of the split. "
        );
        md.Append(
            "Cells: mean ± std over seeds (n), then the per-seed paired difference against CLIP at the same label "
                + "ratio and seed. "
        );
        md.Append(
            "S-CLIP's variants have no 100% rows: with every image paired there is no unpaired image, and the loss "
                + "is CLIP's.\n\n"
        );

        // Runs from different starts never share a table: their CLIP baselines differ.
        foreach (
            var group in runs.GroupBy(r => (r.Regime, r.EvalSplit, r.Steps, Lr: LearningRate(r), Start: StartSteps(r)))
                .OrderBy(g => g.Key.Regime)
                .ThenBy(g => g.Key.Start)
                .ThenBy(g => g.Key.EvalSplit != "test")
                .ThenByDescending(g =>
                    double.TryParse(g.Key.Lr, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0
                )
        )
        {
            var (regime, split, steps, lr, start) = group.Key;
            bool otherStart = start != RealDataBenchmark.DefaultPretrainSteps;
            md.Append(
                $"## {regime}{(otherStart ? $" ({start}-step start)" : "")}, {split} split, {steps} steps, lr {lr}\n\n"
            );
            var starts = group
                .Where(r => r.Curve.Count > 0 && r.Curve[0][0] == 0)
                .Select(r => 100 * r.Curve[0][1])
                .Distinct()
                .ToList();
            if (regime == "pretrained" && starts.Count > 0)
                md.Append(
                    $"The starting model (before adaptation) scores "
                        + $"{string.Join(" / ", starts.Select(v => v.ToString("F1", CultureInfo.InvariantCulture)))} "
                        + $"AID top-1 here.\n\n"
                );
            md.Append(
                "| method | pairs | AID top-1 | Δ vs CLIP (per seed) | top-1 seen 15 | top-1 new 15 | retrieval "
                    + "| retrieval (one caption) | plan precision | no partner | plan entropy | keyword precision | "
                    + "logit scale | s/run | s/step |\n"
            );
            md.Append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
            var baseline = group
                .Where(r => r.Variant == "clip" && Label(r) == "")
                .ToLookup(r => (r.LabelRatio, r.NoiseFraction, r.Seed));
            // Rows with wrong captions compare against CLIP on the same wrong captions.
            foreach (
                var cell in group
                    .GroupBy(r => (r.Variant, Label: Label(r), r.LabelRatio, r.NoiseFraction))
                    .OrderBy(c => c.Key.LabelRatio)
                    .ThenBy(c => c.Key.Variant != "clip")
                    .ThenBy(c => c.Key.Variant)
                    .ThenBy(c => c.Key.Label)
            )
            {
                var rs = cell.OrderBy(r => r.Seed).ToList();
                var deltas = rs.Select(r =>
                        baseline[(r.LabelRatio, r.NoiseFraction, r.Seed)].FirstOrDefault() is { } b
                        && !(cell.Key.Variant == "clip" && cell.Key.Label == "")
                            ? $"{100 * (r.Top1 - b.Top1):+0.0;-0.0}"
                            : null
                    )
                    .Where(d => d != null)
                    .ToList();
                string D(string k) =>
                    rs.All(r => r.Diagnostics.ContainsKey(k))
                        ? rs.Average(r => r.Diagnostics[k]).ToString("F3", CultureInfo.InvariantCulture)
                        : "–";
                string name =
                    cell.Key.Variant
                    + (cell.Key.Label.Length > 0 ? $" [{cell.Key.Label}]" : "")
                    + (cell.Key.NoiseFraction > 0 ? $" ({100 * cell.Key.NoiseFraction:0}% swapped)" : "");
                var oneCaption = rs.Where(r => double.IsFinite(r.RetrievalOneCaption)).ToList();
                md.Append(
                    $"| {name} | {100 * cell.Key.LabelRatio:0}% | {Stat(rs, r => r.Top1)} | "
                        + $"{string.Join(" / ", deltas)} | {Stat(rs, r => r.Top1SeenClasses)} | "
                        + $"{Stat(rs, r => r.Top1NewClasses)} | {Stat(rs, r => r.Retrieval)} | "
                );
                md.Append(
                    $"{(oneCaption.Count > 0 ? Stat(oneCaption, r => r.RetrievalOneCaption) : "–")} | "
                        + $"{D("pseudo_label_precision")} | {D("no_partner_fraction")} | {D("plan_entropy")} | "
                        + $"{D("keyword_target_precision")} | {rs.Average(r => r.FinalLogitScale):F1} | "
                        + $"{rs.Average(r => r.Seconds):F0} | "
                        + (
                            rs.All(r => double.IsFinite(r.StepSeconds))
                                ? rs.Average(r => r.StepSeconds).ToString("F2", CultureInfo.InvariantCulture)
                                : "–"
                        )
                        + (
                            rs.All(r => r.BestStep is not null)
                                ? $" (kept steps {string.Join("/", rs.Select(r => r.BestStep))})"
                                : ""
                        )
                        + " |\n"
                );
            }
            md.Append('\n');
            // Every table has its own chart: a non-default start or length names it.
            var chart =
                $"{reportName}-curves-{regime}{(otherStart ? $"-pre{start}" : "")}-{split}"
                + $"{(steps != RealDataBenchmark.DefaultSteps ? $"-st{steps}" : "")}-lr{lr}.png";
            Curves(group.ToList(), Path.Combine(outDir, chart));
            md.Append($"![zero-shot top-1 against step, mean over seeds]({chart})\n\n");
        }
        File.WriteAllText(
            Path.Combine(outDir, reportName + ".json"),
            JsonSerializer.Serialize(new { runs }, BenchReport.Json)
        );
        File.WriteAllText(Path.Combine(outDir, reportName + ".md"), md.ToString());
    }

    /// <summary>What sets a run apart from the grid's plain cell: "fixedsplit" and/or the tag of its overrides,
    /// read from the run name (…-lr5e-5[-fixedsplit][-tag][-preN][-noiseN]-sN).</summary>
    static string Label(RealDataBenchmark.RunRecord r)
    {
        var m = System.Text.RegularExpressions.Regex.Match(
            r.Name,
            @"-lr\d+(\.\d+)?e-?\d+(?<rest>.*?)(-pre\d+)?(-noise\d+)?-s\d+$"
        );
        return m.Success ? m.Groups["rest"].Value.TrimStart('-') : "";
    }

    /// <summary>How long the run's start was pretrained, read from the run name (…-pre2400-…; none: the
    /// default).</summary>
    static long StartSteps(RealDataBenchmark.RunRecord r) =>
        System.Text.RegularExpressions.Regex.Match(r.Name, @"-pre(?<steps>\d+)(-noise\d+)?-s\d+$")
            is { Success: true } m
            ? long.Parse(m.Groups["steps"].Value, CultureInfo.InvariantCulture)
            : RealDataBenchmark.DefaultPretrainSteps;

    /// <summary>The adaptation learning rate, read from the run name (…-lr5e-4…).</summary>
    static string LearningRate(RealDataBenchmark.RunRecord r) =>
        System.Text.RegularExpressions.Regex.Match(r.Name, @"-lr(?<lr>\d+(\.\d+)?e-?\d+)") is { Success: true } m
            ? m.Groups["lr"].Value
            : "?";

    static string Stat(List<RealDataBenchmark.RunRecord> rs, Func<RealDataBenchmark.RunRecord, double> f)
    {
        var v = rs.Select(r => 100 * f(r)).ToList();
        double m = v.Average();
        double sd = v.Count < 2 ? 0 : Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Count - 1));
        return $"{m:F1} ± {sd:F1} ({v.Count})";
    }

    static void Curves(List<RealDataBenchmark.RunRecord> runs, string path)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int colour = 0;
        // keep_best records have no curve of their own: they are one step of their run's.
        foreach (
            var cell in runs.Where(r => r.Curve.Count > 0)
                .GroupBy(r =>
                    $"{r.Variant}{(Label(r).Length > 0 ? $" [{Label(r)}]" : "")} "
                    + $"{100 * r.LabelRatio:0}%{(r.NoiseFraction > 0 ? $" {100 * r.NoiseFraction:0}% noise" : "")}"
                )
                .OrderBy(c => c.Key)
        )
        {
            var steps = cell.First().Curve.Select(p => p[0]).Distinct().Order().ToArray();
            var means = steps
                .Select(s =>
                    100 * cell.Where(r => r.Curve.Any(p => p[0] == s)).Average(r => r.Curve.First(p => p[0] == s)[1])
                )
                .ToArray();
            var line = plot.Add.Scatter(steps, means);
            line.LegendText = cell.Key;
            line.Color = palette.GetColor(colour++);
        }
        plot.XLabel("step");
        plot.YLabel("AID zero-shot top-1 (%)");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, 900, 550);
    }
}
