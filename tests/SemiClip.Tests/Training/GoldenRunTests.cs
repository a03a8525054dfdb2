using System.Security.Cryptography;
using SemiClip.IO;
using SemiClip.Runs;
using SemiClip.Tests.Support;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Tests.Training;

/// <summary>A guard for moving the run's start, step and loop around: a 12-step S-CLIP run on the tiny synthetic setup
/// (weights from the run's seed, keywords and pseudo-labels on) ends with the weights recorded here. Every tensor's sum
/// and norm are held on any CPU (LibTorch picks other kernels per instruction set, which moves the last bits); the
/// file's SHA-256 is held exactly on the kind of CPU it was recorded on.</summary>
public class GoldenRunTests
{
    /// <summary>SHA-256 of model.safetensors by CPU kind (<see cref="CpuKind"/>).</summary>
    static readonly Dictionary<string, string> Sha256 = new() { ["avx2, 2 threads"] = "RECORD" };

    /// <summary>Each tensor's sum and L2 norm after the 12 steps.</summary>
    static readonly Dictionary<string, (double Sum, double Norm)> Summary = new() { };

    static string CpuKind()
    {
        var flags = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))
            : null;
        var words = flags?.Split(' ').ToHashSet() ?? [];
        var set = words.Contains("avx512_bf16") ? "avx512-bf16" : words.Contains("avx512f") ? "avx512" : "avx2";
        return $"{set}, {get_num_threads()} threads";
    }

    [Fact]
    public void TwelveStepsOfSClipEndWithTheRecordedWeights()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var config = TrainConfig.Load(
            null,
            [.. common, "method=\"sclip\"", "label_ratio=0.5", "steps=12", "seed=0", "run_name=\"golden\""]
        );
        using (var session = new TrainingSession(config, resume: false))
            session.Train();
        var file = dir.File("runs/golden/model.safetensors");
        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
        var summary = new Dictionary<string, (double Sum, double Norm)>();
        using (var reader = new SafeTensorsReader(file))
            foreach (var name in reader.Names.Order(StringComparer.Ordinal))
            {
                using var t = reader.Read(name).to(float64);
                summary[name] = (t.sum().item<double>(), t.norm().item<double>());
            }
        var recorded = string.Join(
            "\n",
            summary.Select(kv => $"[\"{kv.Key}\"] = ({kv.Value.Sum:R}, {kv.Value.Norm:R}),")
        );
        Assert.True(Summary.Count > 0, $"record the summary ({CpuKind()}, sha {sha}):\n{recorded}");
        Assert.Equal(Summary.Keys.Order(), summary.Keys.Order());
        foreach (var (name, (sum, norm)) in Summary)
        {
            Assert.True(
                Math.Abs(summary[name].Norm - norm) <= 1e-4 * norm + 1e-6,
                $"{name}: norm {summary[name].Norm}"
            );
            Assert.True(Math.Abs(summary[name].Sum - sum) <= 1e-4 * norm + 1e-6, $"{name}: sum {summary[name].Sum}");
        }
        if (Sha256.TryGetValue(CpuKind(), out var expected))
            Assert.Equal(expected, sha);
    }
}
