using System.Text.Json;
using SemiClip.IO;
using TorchSharp.Modules;
using static TorchSharp.torch.utils.tensorboard;

namespace SemiClip.Runs;

/// <summary>A run's folder, <c>runs/&lt;name&gt;/</c>: the resolved config as <c>config.json</c>, metrics as
/// <c>metrics.jsonl</c> (one JSON object per line), TensorBoard event files under <c>tb/</c>, and
/// checkpoints under <c>checkpoints/</c>. Every command that computes writes here.</summary>
public sealed class RunFolder : IDisposable
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    SummaryWriter? _tensorboard;
    StreamWriter? _metrics;

    public string Root { get; }
    public string ConfigPath => Path.Combine(Root, "config.json");
    public string MetricsPath => Path.Combine(Root, "metrics.jsonl");
    public string TensorBoardDir => Path.Combine(Root, "tb");
    public string CheckpointDir => Path.Combine(Root, "checkpoints");

    public RunFolder(string root)
    {
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Root);
    }

    /// <summary><c>runs/&lt;name&gt;</c> under <paramref name="runsRoot"/>; a name is made from the time when none is given.</summary>
    public static RunFolder Create(string runsRoot, string? name) => new(PathFor(runsRoot, name));

    /// <summary>Where <see cref="Create"/> would put the run, without creating anything.</summary>
    public static string PathFor(string runsRoot, string? name) =>
        Path.GetFullPath(Path.Combine(runsRoot, string.IsNullOrWhiteSpace(name) ? DateTime.UtcNow.ToString("yyyyMMdd-HHmmss") : name));

    public void SaveConfig<T>(T config) => AtomicFile.WriteAllText(ConfigPath, JsonSerializer.Serialize(config, Json));

    /// <summary>Appends one line to metrics.jsonl and mirrors numeric values to TensorBoard.</summary>
    StreamWriter Metrics => _metrics ??= new StreamWriter(new FileStream(MetricsPath, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };

    public void LogMetrics(long step, IReadOnlyDictionary<string, double> values, string kind = "train")
    {
        var row = new Dictionary<string, object> { ["kind"] = kind, ["step"] = step, ["time"] = DateTime.UtcNow.ToString("O") };
        foreach (var (k, v) in values) row[k] = double.IsFinite(v) ? v : v.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Metrics.WriteLine(JsonSerializer.Serialize(row));
        _tensorboard ??= SummaryWriter(TensorBoardDir);
        foreach (var (k, v) in values) _tensorboard.add_scalar($"{kind}/{k}", (float)v, checked((int)step));
    }

    /// <summary>Appends a free-form event (a data split's counts, a skipped file) to metrics.jsonl.</summary>
    public void LogEvent(string kind, object payload)
    {
        Metrics.WriteLine(JsonSerializer.Serialize(new { kind, time = DateTime.UtcNow.ToString("O"), payload }));
    }

    public void Dispose()
    {
        _metrics?.Dispose();
        _metrics = null;
        _tensorboard = null; // SummaryWriter flushes each record as it is written
    }
}
