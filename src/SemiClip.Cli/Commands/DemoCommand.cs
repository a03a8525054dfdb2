using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SemiClip.Charts;
using SemiClip.Cli.Ui;
using SemiClip.Evaluation;
using SemiClip.Experiments;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip demo</c>: SemiClip's main job end to end on the embedded synthetic domains. A tiny
/// CLIP is pretrained on generic tabletop photos and on other aerial scenes of half the aerial classes (cached
/// between runs), then adapted to aerial scenes with
/// 2% of the pairs by CLIP alone and by S-CLIP (the other 98% as unpaired images), against CLIP on all
/// pairs as the upper reference; all are evaluated on held-out aerial images.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var workDir = new Option<string>("--work-dir")
        {
            Description = "where data, runs and the chart go",
            DefaultValueFactory = _ => "runs/demo",
        };
        var steps = new Option<long>("--adapt-steps")
        {
            Description = "training steps per adaptation run",
            DefaultValueFactory = _ => 60,
        }.AtLeast(1);
        var pretrainSteps = new Option<long>("--pretrain-steps")
        {
            Description = "steps of the generic pretraining the demo adapts from",
            DefaultValueFactory = _ => 110,
        }.AtLeast(1);
        var labelRatio = new Option<double>("--label-ratio")
        {
            Description = "fraction of the domain's images that keep their captions",
            DefaultValueFactory = _ => 0.02,
        }.LabelRatio();
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var cmd = new Command(
            "demo",
            "Run the embedded demo: pretrain, adapt with CLIP vs S-CLIP at 2% pairs, evaluate, chart"
        )
        {
            workDir,
            steps,
            pretrainSteps,
            labelRatio,
            device,
            threads,
        };
        cmd.SetAction(p =>
        {
            CommonOptions.ApplyThreads(p.GetValue(threads));
            var clock = Stopwatch.StartNew();
            var exp = new DomainAdaptationExperiment(
                new DomainAdaptationExperiment.Settings
                {
                    WorkDir = p.GetValue(workDir)!,
                    AdaptSteps = p.GetValue(steps),
                    PretrainSteps = p.GetValue(pretrainSteps),
                    Device = p.GetValue(device)!,
                }
            );
            ConsoleUi.Heading("1. data");
            exp.PrepareData(ConsoleUi.Line);
            ConsoleUi.Line($"vocabulary: {exp.Tokenizer.VocabSize} tokens learned from the captions ({exp.VocabPath})");

            int seenCount = exp.Config.PretrainAerialClasses.Count;
            ConsoleUi.Heading(
                $"2. pretraining the start: tabletop photos and {seenCount} of the aerial classes (cached)"
            );
            bool cached = File.Exists(Path.Combine(exp.PretrainedRun, "model.safetensors"));
            if (cached)
                ConsoleUi.Line($"using {exp.PretrainedRun}/model.safetensors");
            else
                TrainProgress.Run("pretrain (clip)", exp.Config.PretrainSteps, onStep => exp.Pretrain(onStep));
            var (zs0, rt0) = exp.Evaluate(exp.PretrainedRun);

            double ratio = p.GetValue(labelRatio);
            string pct = (ratio * 100).ToString("0", CultureInfo.InvariantCulture);
            // Validation during training and the best step kept (docs/training.md, "Few-caption fine-tuning
            // controls"); the last step's weights are reported beside it, so the table shows what keep_best changed.
            string[] recipe = [.. exp.ValidationSettings, "eval_every_steps=20", "keep_best=val_zero_shot_top1"];
            var plan = new[]
            {
                ($"clip-{pct}pct", "clip", ratio, $"CLIP, {pct}% pairs", recipe),
                ($"sclip-{pct}pct", "sclip", ratio, $"S-CLIP, {pct}% pairs + unpaired", recipe),
                // The recipe the real-data benchmark recommends for S-CLIP (docs/training.md, "Which recipe to start
                // from").
                (
                    $"sclip-{pct}pct-lock3",
                    "sclip",
                    ratio,
                    $"S-CLIP, {pct}% pairs + unpaired, image tower locked but its top 3 groups",
                    [.. recipe, "lock_image=true", "lock_image_unlocked_groups=3"]
                ),
                ("clip-100pct", "clip", 1.0, "CLIP, 100% pairs (upper reference)", Array.Empty<string>()),
            };
            var seen = exp.Config.PretrainAerialClasses;
            var unseen = Synthetic.AerialScenes.Classes.Except(seen).ToList();
            var rows = new List<(
                string Label,
                double Top1,
                double Seen,
                double New,
                double Top5,
                double Recall,
                double Seconds
            )>
            {
                (
                    "pretrained, not adapted",
                    zs0.Top1,
                    DomainAdaptationExperiment.MeanOver(zs0, seen),
                    DomainAdaptationExperiment.MeanOver(zs0, unseen),
                    zs0.Top5,
                    rt0.MeanRecall,
                    0
                ),
            };
            int k = 3;
            foreach (var (name, method, r, label, overrides) in plan)
            {
                ConsoleUi.Heading($"{k++}. {label}");
                DomainAdaptationExperiment.Outcome outcome = null!;
                TrainProgress.Run(name, exp.Config.AdaptSteps!.Value, onStep =>
                    outcome = exp.Adapt(name, method, r, onStep: onStep, overrides: overrides)
                );
                rows.Add(
                    (
                        outcome.Best is null ? label : $"{label}, last step",
                        outcome.Top1,
                        outcome.Top1Seen,
                        outcome.Top1New,
                        outcome.Top5,
                        outcome.MeanRecall,
                        outcome.TrainSeconds
                    )
                );
                if (outcome.Best is { } best)
                    rows.Add(
                        (
                            $"{label}, step {best.BestStep} kept on val",
                            best.Top1,
                            best.Top1Seen,
                            best.Top1New,
                            best.Top5,
                            best.MeanRecall,
                            best.TrainSeconds
                        )
                    );
            }

            ConsoleUi.Heading("results on held-out aerial images");
            string[] Cells(
                (string Label, double Top1, double Seen, double New, double Top5, double Recall, double Seconds) x
            ) =>
                [
                    x.Label,
                    ReportWriter.Pct(x.Top1),
                    ReportWriter.Pct(x.Seen),
                    ReportWriter.Pct(x.New),
                    ReportWriter.Pct(x.Top5),
                    ReportWriter.Pct(x.Recall),
                    x.Seconds.ToString("F0", CultureInfo.InvariantCulture),
                ];
            string[] header =
            [
                "model",
                "top-1",
                $"top-1 seen {seen.Count}",
                $"top-1 new {unseen.Count}",
                "top-5",
                "mean recall",
                "train s",
            ];
            ConsoleUi.Table(
                "zero-shot accuracy and retrieval (%); seen: the classes the start was pretrained on",
                header,
                rows.Select(Cells)
            );
            var values = new double[rows.Count, 3];
            for (int i = 0; i < rows.Count; i++)
            {
                values[i, 0] = 100 * rows[i].Top1;
                values[i, 1] = 100 * rows[i].Top5;
                values[i, 2] = 100 * rows[i].Recall;
            }
            var chart = Path.Combine(exp.Config.WorkDir, "demo.png");
            Plots.CompareRuns(
                rows.Select(x => x.Label).ToList(),
                ["zero-shot top-1", "zero-shot top-5", "retrieval mean recall"],
                values,
                "Adapting a tiny CLIP to aerial scenes",
                chart
            );
            var md =
                $"| {string.Join(" | ", header)} |\n|{string.Concat(header.Select(_ => "---|"))}\n"
                + string.Concat(rows.Select(x => $"| {string.Join(" | ", Cells(x))} |\n"));
            IO.AtomicFile.WriteAllText(Path.Combine(exp.Config.WorkDir, "demo.md"), md);
            ConsoleUi.Line(
                $"chart: {Path.GetFullPath(chart)}; table: "
                    + $"{Path.GetFullPath(Path.Combine(exp.Config.WorkDir, "demo.md"))}"
            );
            ConsoleUi.Line(
                $"demo finished in {clock.Elapsed.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture)} s"
            );
            return 0;
        });
        return cmd;
    }
}
