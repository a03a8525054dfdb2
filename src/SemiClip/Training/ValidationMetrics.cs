using SemiClip.IO;
using SemiClip.Model;

namespace SemiClip.Training;

/// <summary>The metrics evaluation during training logs (kind "eval", each prefixed val_), and the keep_best record:
/// <c>best/model.safetensors</c> with <c>best/best.json</c> saying which step, metric and value it was.</summary>
public static class ValidationMetrics
{
    public static readonly IReadOnlyList<string> Known =
        ["val_zero_shot_top1", "val_zero_shot_top5", "val_mean_recall", "val_i2t_r1", "val_t2i_r1", "val_loss"];

    public static bool LowerIsBetter(string metric) => metric == "val_loss";

    public sealed record Best(long Step, string Metric, double Value);

    public static string Folder(string runRoot) => Path.Combine(runRoot, "best");

    /// <summary>The best so far (a resumed run continues from it), or null.</summary>
    public static Best? Read(string runRoot)
    {
        var path = Path.Combine(Folder(runRoot), "best.json");
        if (!File.Exists(path)) return null;
        return System.Text.Json.JsonSerializer.Deserialize<Best>(File.ReadAllText(path), Runs.RunFolder.Json);
    }

    /// <summary>Keeps <paramref name="model"/> when <paramref name="value"/> improves on <paramref name="best"/>.</summary>
    public static Best? Update(Best? best, string metric, double value, long step, ClipModel model, string runRoot)
    {
        if (!double.IsFinite(value)) return best;
        bool better = best is null || best.Metric != metric || (LowerIsBetter(metric) ? value < best.Value : value > best.Value);
        if (!better) return best;
        var folder = Directory.CreateDirectory(Folder(runRoot)).FullName;
        ClipCheckpoint.Save(model, Path.Combine(folder, "model.safetensors"));
        var record = new Best(step, metric, value);
        AtomicFile.WriteAllText(Path.Combine(folder, "best.json"), System.Text.Json.JsonSerializer.Serialize(record, Runs.RunFolder.Json));
        return record;
    }
}
