using System.Globalization;
using System.Text;
using ScottPlot;
using SemiClip.Data;
using SemiClip.Evaluation;
using SemiClip.Model;

namespace SemiClip.Bench;

/// <summary><c>bench real --wise</c>: WiSE-FT's forgetting trade-off on the real-data benchmark. For each seed,
/// interpolates between the pretrained start (15 classes) and the CLIP run fine-tuned on all captions of all
/// 30 classes, and measures AID zero-shot top-1 on the 15 pretraining classes and on the 15 new ones.</summary>
static class WiseCurve
{
    public static int Run(
        string work,
        string outDir,
        string evalSplit,
        string lrTag,
        int[] seeds,
        Func<string, string> classCsv,
        IReadOnlyList<string> seen,
        IReadOnlyList<string> fresh,
        string pretrainRun
    )
    {
        double[] alphas = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
        var start = Path.Combine(work, "runs", pretrainRun);
        var rows = new List<object>();
        var perSeed = new List<(int Seed, double[] Seen, double[] New, double[] All)>();
        foreach (var seed in seeds)
        {
            var tuned = Path.Combine(work, "runs", $"pretrained-clip-r100-{evalSplit}-st250-lr{lrTag}-s{seed}");
            if (!File.Exists(Path.Combine(tuned, "model.safetensors")))
            {
                Console.Error.WriteLine($"{tuned}: missing, skipped");
                continue;
            }
            using var a = ModelBundle.Load(start);
            using var b = ModelBundle.Load(tuned);
            var (s, n, all) = (new double[alphas.Length], new double[alphas.Length], new double[alphas.Length]);
            for (int i = 0; i < alphas.Length; i++)
            {
                using var mixed = WeightInterpolation.Interpolate(a.Model, b.Model, alphas[i]);
                var z = new EvaluationSuite(
                    new ModelBundle(mixed, a.Tokenizer),
                    TorchSharp.torch.CPU,
                    workers: 2
                ).ZeroShot(
                    classCsv(evalSplit),
                    PromptTemplates.RemoteSensing,
                    new BadInputReport(BadInputPolicy.FailFast)
                );
                (s[i], n[i], all[i]) = (seen.Average(c => z.PerClass[c]), fresh.Average(c => z.PerClass[c]), z.Top1);
                rows.Add(
                    new
                    {
                        seed,
                        alpha = alphas[i],
                        top1 = z.Top1,
                        top1_seen_classes = s[i],
                        top1_new_classes = n[i],
                    }
                );
                Console.WriteLine(
                    $"seed {seed} alpha {alphas[i]:F1}: all {100 * z.Top1:F1} seen {100 * s[i]:F1} new {100 * n[i]:F1}"
                );
            }
            perSeed.Add((seed, s, n, all));
        }
        if (perSeed.Count == 0)
            return 1;
        double[] Mean(Func<(int, double[] Seen, double[] New, double[] All), double[]> pick) =>
            alphas.Select((_, i) => 100 * perSeed.Average(p => pick(p)[i])).ToArray();
        var (seenMean, newMean, allMean) = (Mean(p => p.Seen), Mean(p => p.New), Mean(p => p.All));
        var md = new StringBuilder(
            $"# WiSE-FT on the real-data benchmark ({evalSplit} split, {perSeed.Count} seeds)\n\n"
                + $"(1 − α)·start + α·CLIP fine-tuned on all captions of all 30 classes (250 steps, lr {lrTag}); the "
                + $"start is the 15-class pretraining. "
                + "AID zero-shot top-1 (%), mean over seeds.\n\n| α | 15 pretraining classes | 15 new classes | all "
                + "30 |\n|---|---|---|---|\n"
        );
        for (int i = 0; i < alphas.Length; i++)
            md.Append(
                CultureInfo.InvariantCulture,
                $"| {alphas[i]:0.0} | {seenMean[i]:F1} | {newMean[i]:F1} | {allMean[i]:F1} |\n"
            );
        int best = Array.IndexOf(allMean, allMean.Max());
        md.Append(
            CultureInfo.InvariantCulture,
            $"\nBest α on all 30 classes: {alphas[best]:0.0} ({allMean[best]:F1} against {allMean[^1]:F1} for the "
                + $"fine-tuned model and {allMean[0]:F1} for the start).\n"
        );
        var plot = new Plot();
        plot.Add.Scatter(alphas, seenMean).LegendText = "15 pretraining classes";
        plot.Add.Scatter(alphas, newMean).LegendText = "15 new classes";
        plot.Add.Scatter(alphas, allMean).LegendText = "all 30";
        plot.XLabel("α (weight of the fine-tuned model)");
        plot.YLabel("AID zero-shot top-1 (%)");
        plot.ShowLegend(Alignment.LowerCenter);
        Directory.CreateDirectory(outDir);
        plot.SavePng(Path.Combine(outDir, "real-rsicd-wise.png"), 800, 500);
        BenchReport.Write(
            outDir,
            "real-rsicd-wise",
            new
            {
                eval_split = evalSplit,
                lr = lrTag,
                rows,
            },
            md.ToString()
        );
        Console.Write(md);
        return 0;
    }
}
