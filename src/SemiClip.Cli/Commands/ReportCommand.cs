using System.CommandLine;
using SemiClip.Charts;
using SemiClip.Cli.Ui;
using SemiClip.Evaluation;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip report runA runB …</c>: side-by-side metrics, a comparison chart and each run's training
/// curves.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var runs = new Argument<string[]>("runs")
        {
            Description = "run folders with report.json",
            Arity = ArgumentArity.OneOrMore,
        };
        var output = new Option<string>("--out")
        {
            Description = "folder for comparison.md and the PNG charts",
            DefaultValueFactory = _ => "runs/report",
        };
        var cmd = new Command("report", "Compare evaluated runs and plot them") { runs, output };
        cmd.SetAction(p =>
        {
            var folders = p.GetValue(runs)!;
            var outDir = p.GetValue(output)!;
            Directory.CreateDirectory(outDir);
            var reports = folders.Select(ReportWriter.Read).ToList();
            var names = folders.Select(f => Path.GetFileName(Path.GetFullPath(f).TrimEnd('/'))).ToList();
            var metricNames = new[] { "top-1", "top-5", "I→T R@1", "T→I R@1", "mean recall" };
            var values = new double[reports.Count, metricNames.Length];
            var rows = new List<string[]>();
            for (int i = 0; i < reports.Count; i++)
            {
                var r = reports[i];
                double[] v =
                {
                    r.ZeroShot?.Top1 ?? double.NaN,
                    r.ZeroShot?.Top5 ?? double.NaN,
                    r.Retrieval?.ImageToTextR1 ?? double.NaN,
                    r.Retrieval?.TextToImageR1 ?? double.NaN,
                    r.Retrieval?.MeanRecall ?? double.NaN,
                };
                for (int k = 0; k < v.Length; k++)
                    values[i, k] = double.IsNaN(v[k]) ? 0 : 100 * v[k];
                rows.Add(new[] { names[i] }.Concat(v.Select(ReportWriter.Pct)).ToArray());
            }
            ConsoleUi.Table("runs (%)", new[] { "run" }.Concat(metricNames).ToList(), rows);
            var md =
                "| run | "
                + string.Join(" | ", metricNames)
                + " |\n|"
                + string.Concat(Enumerable.Repeat("---|", metricNames.Length + 1))
                + "\n"
                + string.Concat(rows.Select(r => "| " + string.Join(" | ", r) + " |\n"));
            IO.AtomicFile.WriteAllText(Path.Combine(outDir, "comparison.md"), md + "\n![comparison](comparison.png)\n");
            Plots.CompareRuns(names, metricNames, values, "SemiClip runs", Path.Combine(outDir, "comparison.png"));
            foreach (var (folder, name) in folders.Zip(names))
            {
                var metrics = Path.Combine(folder, "metrics.jsonl");
                if (File.Exists(metrics))
                    Plots.TrainingCurves(metrics, Path.Combine(outDir, $"{name}-curves.png"));
            }
            ConsoleUi.Line($"wrote {Path.Combine(outDir, "comparison.md")} and charts");
            return 0;
        });
        return cmd;
    }
}
