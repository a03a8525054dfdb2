using SemiClip.IO;
using SemiClip.Model;
using SemiClip.Training;

namespace SemiClip.Runs;

/// <summary>The keep_best record in a run folder: <c>best/model.safetensors</c> with <c>best/best.json</c> saying which
/// step, metric (<see cref="ValidationMetricNames"/>) and value it was.</summary>
public static class ValidationMetrics
{
    public sealed record Best(long Step, string Metric, double Value);

    public static string Folder(string runRoot) => Path.Combine(runRoot, "best");

    /// <summary>The best so far (a resumed run continues from it), or null.</summary>
    public static Best? Read(string runRoot)
    {
        var path = Path.Combine(Folder(runRoot), "best.json");
        if (!File.Exists(path))
            return null;
        return System.Text.Json.JsonSerializer.Deserialize<Best>(File.ReadAllText(path), RunFolder.Json);
    }

    /// <summary>Keeps <paramref name="model"/> when <paramref name="value"/> improves on <paramref
    /// name="best"/>.</summary>
    public static Best? Update(Best? best, string metric, double value, long step, ClipModel model, string runRoot)
    {
        if (!double.IsFinite(value))
            return best;
        bool better =
            best is null
            || best.Metric != metric
            || (ValidationMetricNames.LowerIsBetter(metric) ? value < best.Value : value > best.Value);
        if (!better)
            return best;
        var folder = Directory.CreateDirectory(Folder(runRoot)).FullName;
        ClipCheckpoint.Save(model, Path.Combine(folder, "model.safetensors"));
        var record = new Best(step, metric, value);
        AtomicFile.WriteAllText(
            Path.Combine(folder, "best.json"),
            System.Text.Json.JsonSerializer.Serialize(record, RunFolder.Json)
        );
        return record;
    }
}
