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
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

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

    /// <summary>Where the run named <paramref name="name"/> lives under <paramref name="runsRoot"/>, without creating
    /// anything; a name is made from the time when none is given.</summary>
    public static string PathFor(string runsRoot, string? name) =>
        Path.GetFullPath(
            Path.Combine(runsRoot, string.IsNullOrWhiteSpace(name) ? DateTime.UtcNow.ToString("yyyyMMdd-HHmmss") : name)
        );

    /// <summary>Moves an existing run folder out of the way (<c>NAME.replaced-TIME</c> beside it), never deleting it;
    /// returns where it went.</summary>
    public static string MoveAside(string root)
    {
        var stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture);
        var target = $"{root.TrimEnd(Path.DirectorySeparatorChar)}.replaced-{stamp}";
        for (int n = 2; Directory.Exists(target) || File.Exists(target); n++)
            target = $"{root}.replaced-{stamp}-{n}";
        Directory.Move(root, target);
        return target;
    }

    /// <summary>Drops metrics lines of steps after <paramref name="step"/> (written after the checkpoint a resume
    /// continues from, and about to be written again), so a resumed run's metrics.jsonl holds each step once.</summary>
    public void TruncateMetricsAfter(long step)
    {
        if (!File.Exists(MetricsPath))
            return;
        _metrics?.Dispose();
        _metrics = null;
        var kept = File.ReadLines(MetricsPath).Where(line => StepOf(line) is not long s || s <= step).ToList();
        AtomicFile.WriteAllText(MetricsPath, kept.Count == 0 ? "" : string.Join("\n", kept) + "\n");
    }

    static long? StepOf(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.TryGetProperty("step", out var s) && s.TryGetInt64(out var v))
                return v;
            if (
                root.TryGetProperty("payload", out var p)
                && p.ValueKind == JsonValueKind.Object
                && p.TryGetProperty("step", out var ps)
                && ps.TryGetInt64(out var pv)
            )
                return pv;
            return null;
        }
        catch (JsonException)
        {
            return null;
        } // a line cut by a kill: kept as it was
    }

    /// <summary>Appends one line to metrics.jsonl and mirrors numeric values to TensorBoard.</summary>
    StreamWriter Metrics =>
        _metrics ??= new StreamWriter(new FileStream(MetricsPath, FileMode.Append, FileAccess.Write, FileShare.Read))
        {
            AutoFlush = true,
        };

    public void LogMetrics(long step, IReadOnlyDictionary<string, double> values, string kind = "train")
    {
        var row = new Dictionary<string, object>
        {
            ["kind"] = kind,
            ["step"] = step,
            ["time"] = DateTime.UtcNow.ToString("O"),
        };
        foreach (var (k, v) in values)
            row[k] = double.IsFinite(v) ? v : v.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Metrics.WriteLine(JsonSerializer.Serialize(row));
        _tensorboard ??= SummaryWriter(TensorBoardDir);
        foreach (var (k, v) in values)
            _tensorboard.add_scalar($"{kind}/{k}", (float)v, checked((int)step));
    }

    /// <summary>Appends a free-form event (a data split's counts, a skipped file) to metrics.jsonl.</summary>
    public void LogEvent(string kind, object payload)
    {
        Metrics.WriteLine(
            JsonSerializer.Serialize(
                new
                {
                    kind,
                    time = DateTime.UtcNow.ToString("O"),
                    payload,
                },
                EventJson
            )
        );
    }

    /// <summary>Every event's fields in snake_case, whatever type carries them; absent values are left out.</summary>
    static readonly JsonSerializerOptions EventJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public void Dispose()
    {
        _metrics?.Dispose();
        _metrics = null;
        _tensorboard = null; // SummaryWriter flushes each record as it is written
    }
}
