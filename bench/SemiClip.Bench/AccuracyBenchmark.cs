using System.Globalization;
using System.Text;
using SemiClip.Experiments;

namespace SemiClip.Bench;

/// <summary>Label ratios × methods × seeds on the synthetic aerial domain (after generic pretraining),
/// plus noisy captions (20% and 40% of images' captions swapped) where SoftCLIP meets CLIP. Reports
/// mean ± std of zero-shot top-1 and retrieval mean recall; writes JSON and Markdown as it goes.</summary>
public static class AccuracyBenchmark
{
    static readonly (string Name, string Method, string[] Overrides)[] Methods =
    {
        ("CLIP", "clip", Array.Empty<string>()),
        ("S-CLIP", "sclip", Array.Empty<string>()),
        ("S-CLIP caption-only", "sclip", new[] { "loss.keyword_weight=0" }),
        ("S-CLIP keyword-only", "sclip", new[] { "loss.caption_weight=0" }),
        ("SoftCLIP", "softclip", Array.Empty<string>()),
        ("S-CLIP+SoftCLIP", "sclip+softclip", Array.Empty<string>()),
    };

    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        var outDir = BenchReport.ResultsDir(args);
        var ratios = quick ? new[] { 0.1 } : new[] { 0.05, 0.1, 0.25, 1.0 };
        var seeds = quick ? new[] { 0 } : new[] { 0, 1, 2 };
        long steps = long.Parse(BenchReport.Option(args, "--steps", "80"), CultureInfo.InvariantCulture);
        double lr = double.Parse(BenchReport.Option(args, "--lr", "3e-4"), CultureInfo.InvariantCulture);
        int batch = int.Parse(BenchReport.Option(args, "--batch", "32"), CultureInfo.InvariantCulture);
        var work = BenchReport.Option(args, "--work-dir", Path.Combine(Path.GetTempPath(), "semiclip-accuracy"));
        var outcomes = new List<DomainAdaptationExperiment.Outcome>();
        double baselineTop1 = double.NaN,
            baselineRecall = double.NaN;

        void Save()
        {
            var md = new StringBuilder(
                $"# Accuracy benchmark (synthetic aerial domain, tiny-vit, {steps} steps × "
                    + $"batch {batch} per run, lr {lr}, seeds {string.Join(",", seeds)})\n\n"
            );
            md.Append(
                "Zero-shot top-1 on 200 held-out aerial images (mean ± std over the seeds that finished, n in "
                    + "each cell), retrieval mean recall in brackets.\n"
            );
            md.Append(
                $"The generic-pretrained model before adaptation: top-1 {100 * baselineTop1:F1}, mean recall "
                    + $"{100 * baselineRecall:F1}.\n\n"
            );
            md.Append(
                "| method | "
                    + string.Join(" | ", ratios.Select(r => $"{r * 100:0}% pairs"))
                    + " |\n|---|"
                    + string.Concat(ratios.Select(_ => "---|"))
                    + "\n"
            );
            foreach (var (name, _, _) in Methods)
                md.Append(
                    $"| {name} | "
                        + string.Join(
                            " | ",
                            ratios.Select(r =>
                                Cell(
                                    outcomes
                                        .Where(o => o.Name.StartsWith(Key(name, r, 0) + "-s", StringComparison.Ordinal))
                                        .ToList()
                                )
                            )
                        )
                        + " |\n"
                );
            md.Append(
                "\n## Noisy captions (10% pairs would be too few to see noise; these use 100% pairs)\n\n| "
                    + "method | 20% swapped | 40% swapped |\n|---|---|---|\n"
            );
            foreach (var name in new[] { "CLIP", "SoftCLIP" })
                md.Append(
                    $"| {name} | "
                        + string.Join(
                            " | ",
                            new[] { 0.2, 0.4 }.Select(n =>
                                Cell(
                                    outcomes
                                        .Where(o =>
                                            o.Name.StartsWith(Key(name, 1.0, n) + "-s", StringComparison.Ordinal)
                                        )
                                        .ToList()
                                )
                            )
                        )
                        + " |\n"
                );
            BenchReport.Write(
                outDir,
                quick ? "accuracy-quick" : "accuracy",
                new
                {
                    steps,
                    batch,
                    lr,
                    seeds,
                    ratios,
                    pretrained_top1 = baselineTop1,
                    pretrained_mean_recall = baselineRecall,
                    runs = outcomes,
                },
                md.ToString()
            );
        }

        foreach (var seed in seeds)
        {
            var exp = new DomainAdaptationExperiment(
                new DomainAdaptationExperiment.Settings
                {
                    WorkDir = work,
                    AdaptSteps = steps,
                    BatchSize = batch,
                    Lr = lr,
                    Seed = seed,
                    Device = "cpu",
                }
            );
            exp.PrepareData(Console.WriteLine);
            exp.Pretrain();
            if (double.IsNaN(baselineTop1))
            {
                var (z, r) = exp.Evaluate(exp.PretrainedRun);
                (baselineTop1, baselineRecall) = (z.Top1, r.MeanRecall);
            }
            foreach (var ratio in ratios)
                foreach (var (name, method, overrides) in Methods)
                {
                    if (ratio >= 1.0 && method.Contains("sclip", StringComparison.Ordinal) && method != "softclip")
                        continue; // no unpaired images at 100%
                    outcomes.Add(Adapt(exp, Key(name, ratio, 0) + $"-s{seed}", method, ratio, 0, overrides));
                    Save();
                }
            if (!quick)
                foreach (var noise in new[] { 0.2, 0.4 })
                    foreach (var (name, method) in new[] { ("CLIP", "clip"), ("SoftCLIP", "softclip") })
                    {
                        outcomes.Add(
                            Adapt(exp, Key(name, 1.0, noise) + $"-s{seed}", method, 1.0, noise, Array.Empty<string>())
                        );
                        Save();
                    }
        }
        Save();
        return 0;
    }

    static DomainAdaptationExperiment.Outcome Adapt(
        DomainAdaptationExperiment exp,
        string name,
        string method,
        double ratio,
        double noise,
        string[] overrides
    )
    {
        var o = exp.Adapt(name, method, ratio, noise, overrides: overrides);
        Console.WriteLine($"{name}: top-1 {100 * o.Top1:F1} recall {100 * o.MeanRecall:F1} ({o.TrainSeconds:F0} s)");
        return o;
    }

    static string Key(string name, double ratio, double noise) =>
        $"{name.ToLowerInvariant().Replace(' ', '_').Replace('+', '_')}-r{ratio * 100:0}-n{noise * 100:0}";

    static string Cell(List<DomainAdaptationExperiment.Outcome> runs)
    {
        if (runs.Count == 0)
            return "–";
        string n = $" n={runs.Count}";
        double Mean(Func<DomainAdaptationExperiment.Outcome, double> f) => runs.Average(f) * 100;
        double Std(Func<DomainAdaptationExperiment.Outcome, double> f)
        {
            double m = runs.Average(f);
            return runs.Count < 2 ? 0 : Math.Sqrt(runs.Sum(r => (f(r) - m) * (f(r) - m)) / (runs.Count - 1)) * 100;
        }
        return $"{Mean(o => o.Top1):F1} ± {Std(o => o.Top1):F1} ({Mean(o => o.MeanRecall):F1}){n}";
    }
}
