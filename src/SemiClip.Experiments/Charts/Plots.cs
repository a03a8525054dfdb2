using System.Text.Json;

namespace SemiClip.Charts;

/// <summary>PNG charts with ScottPlot: training curves from a run's metrics.jsonl, and grouped bars
/// comparing runs.</summary>
public static class Plots
{
    /// <summary>One panel per metric family: loss parts (with the validation loss), learning rate, logit scale, and the
    /// validation metrics of evaluation during training.</summary>
    public static void TrainingCurves(string metricsJsonl, string pngPath)
    {
        var png = TrainingCurvesPng(metricsJsonl);
        IO.AtomicFile.Write(pngPath, s => s.Write(png));
    }

    /// <summary>The chart of <see cref="TrainingCurves"/> as PNG bytes (what <c>semiclip serve</c> sends).</summary>
    public static byte[] TrainingCurvesPng(string metricsJsonl)
    {
        var series = new Dictionary<string, List<(double Step, double Value)>>();
        foreach (var line in File.ReadLines(metricsJsonl))
        {
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            if (
                !r.TryGetProperty("kind", out var kind)
                || kind.GetString() is not ("train" or "eval")
                || !r.TryGetProperty("step", out var st)
            )
                continue;
            foreach (var p in r.EnumerateObject())
                if (p.Value.ValueKind == JsonValueKind.Number && p.Name is not ("step" or "samples_per_s"))
                    (series.TryGetValue(p.Name, out var l) ? l : series[p.Name] = new()).Add(
                        (st.GetDouble(), p.Value.GetDouble())
                    );
        }
        if (series.Count == 0)
            throw new InvalidDataException($"{metricsJsonl}: no training metrics to plot.");
        var panels = new[]
        {
            (
                "loss",
                series
                    .Keys.Where(k =>
                        k is not ("lr" or "logit_scale")
                        && (!k.StartsWith("val_", StringComparison.Ordinal) || k == "val_loss")
                    )
                    .ToArray()
            ),
            ("learning rate", series.Keys.Where(k => k == "lr").ToArray()),
            ("logit scale", series.Keys.Where(k => k == "logit_scale").ToArray()),
            (
                "validation",
                series.Keys.Where(k => k.StartsWith("val_", StringComparison.Ordinal) && k != "val_loss").ToArray()
            ),
        }
            .Where(p => p.Item2.Length > 0)
            .ToArray();
        const int panelWidth = 420,
            panelHeight = 360;
        using var sheet = new SkiaSharp.SKBitmap(panelWidth * panels.Length, panelHeight);
        using var canvas = new SkiaSharp.SKCanvas(sheet);
        for (int i = 0; i < panels.Length; i++)
        {
            var plot = new ScottPlot.Plot();
            foreach (var name in panels[i].Item2)
            {
                var pts = series[name];
                var sc = plot.Add.Scatter(pts.Select(p => p.Step).ToArray(), pts.Select(p => p.Value).ToArray());
                sc.LegendText = name;
                sc.MarkerSize = 0;
            }
            plot.Title(panels[i].Item1);
            plot.XLabel("step");
            plot.ShowLegend();
            using var panel = SkiaSharp.SKBitmap.Decode(
                plot.GetImageBytes(panelWidth, panelHeight, ScottPlot.ImageFormat.Png)
            );
            canvas.DrawBitmap(panel, i * panelWidth, 0);
        }
        using var data = sheet.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>Grouped bars: one group per metric, one bar per run (values in percent).</summary>
    public static void CompareRuns(
        IReadOnlyList<string> runNames,
        IReadOnlyList<string> metricNames,
        double[,] values,
        string title,
        string pngPath
    )
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var ticks = new List<ScottPlot.Tick>();
        int groups = metricNames.Count,
            runs = runNames.Count;
        for (int r = 0; r < runs; r++)
        {
            var bars = new List<ScottPlot.Bar>();
            for (int g = 0; g < groups; g++)
                bars.Add(
                    new ScottPlot.Bar
                    {
                        Position = g * (runs + 1) + r,
                        Value = values[r, g],
                        FillColor = palette.GetColor(r),
                    }
                );
            var series = plot.Add.Bars(bars);
            series.LegendText = runNames[r];
        }
        for (int g = 0; g < groups; g++)
            ticks.Add(new ScottPlot.Tick(g * (runs + 1) + (runs - 1) / 2.0, metricNames[g]));
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.YLabel("%");
        plot.Title(title);
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        var bytes = plot.GetImageBytes(Math.Max(640, 90 * groups * (runs + 1)), 420, ScottPlot.ImageFormat.Png);
        IO.AtomicFile.Write(pngPath, s => s.Write(bytes));
    }
}
