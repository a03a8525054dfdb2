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
    static readonly Dictionary<string, string> Sha256 = new()
    {
        ["avx2, 2 threads"] = "93a1e9fbcb750122056a061ae5f626e73089348dfd4364dc00abbefd36eb733f",
    };

    /// <summary>Each tensor's sum and L2 norm after the 12 steps.</summary>
    static readonly Dictionary<string, (double Sum, double Norm)> Summary = new()
    {
        ["ln_final.bias"] = (-0.010335097162169404, 0.011175356712544892),
        ["ln_final.weight"] = (32.0045040845871, 5.657657885953838),
        ["logit_scale"] = (2.6561386585235596, 2.6561386585235596),
        ["positional_embedding"] = (-0.21590807103711995, 0.27683241220245136),
        ["text_projection"] = (9.514179823549057, 4.148813594836069),
        ["token_embedding.weight"] = (2.326114580475519, 3.0204471847322694),
        ["transformer.resblocks.0.attn.in_proj_bias"] = (-0.0044404226737242425, 0.011189601707979568),
        ["transformer.resblocks.0.attn.in_proj_weight"] = (-4.806424489141136, 9.8548704883904),
        ["transformer.resblocks.0.attn.out_proj.bias"] = (0.0075730322423623875, 0.008245157153317004),
        ["transformer.resblocks.0.attn.out_proj.weight"] = (-0.45729594636213733, 3.938218957852464),
        ["transformer.resblocks.0.ln_1.bias"] = (-0.0035653473169077188, 0.009322451314647614),
        ["transformer.resblocks.0.ln_1.weight"] = (32.000294625759125, 5.656911628199052),
        ["transformer.resblocks.0.ln_2.bias"] = (0.007561562677437905, 0.007443905289831988),
        ["transformer.resblocks.0.ln_2.weight"] = (31.994032323360443, 5.655806686715053),
        ["transformer.resblocks.0.mlp.c_fc.bias"] = (-1.4350401731644524, 1.1354159843920397),
        ["transformer.resblocks.0.mlp.c_fc.weight"] = (-6.188660754995681, 7.903088470643548),
        ["transformer.resblocks.0.mlp.c_proj.bias"] = (0.235365895612631, 0.30201250317527106),
        ["transformer.resblocks.0.mlp.c_proj.weight"] = (7.669407153904103, 7.942168114305362),
        ["visual.class_embedding"] = (0.6606842970941216, 0.8141250104678247),
        ["visual.conv1.weight"] = (-2.4133613913963927, 3.2472083869433237),
        ["visual.ln_post.bias"] = (0.004849499367992394, 0.008070388810410074),
        ["visual.ln_post.weight"] = (32.00434172153473, 5.657628189662238),
        ["visual.ln_pre.bias"] = (0.0002227005134045612, 0.008021372143177963),
        ["visual.ln_pre.weight"] = (31.99956041574478, 5.656783086951626),
        ["visual.positional_embedding"] = (1.8526803408749402, 2.2650028210996793),
        ["visual.proj"] = (-6.737268501194194, 3.940583014447055),
        ["visual.transformer.resblocks.0.attn.in_proj_bias"] = (-0.004010888245829847, 0.011925850980628809),
        ["visual.transformer.resblocks.0.attn.in_proj_weight"] = (-10.64904587790079, 9.847982943345528),
        ["visual.transformer.resblocks.0.attn.out_proj.bias"] = (-0.0010899010158027522, 0.008248661377634005),
        ["visual.transformer.resblocks.0.attn.out_proj.weight"] = (-4.603907161210373, 3.9493171023632847),
        ["visual.transformer.resblocks.0.ln_1.bias"] = (-0.005805670967674814, 0.006111875894901254),
        ["visual.transformer.resblocks.0.ln_1.weight"] = (32.004353404045105, 5.657629866813203),
        ["visual.transformer.resblocks.0.ln_2.bias"] = (0.009692794898001011, 0.006817788329003483),
        ["visual.transformer.resblocks.0.ln_2.weight"] = (32.005096793174744, 5.6577593828695525),
        ["visual.transformer.resblocks.0.mlp.c_fc.bias"] = (-0.5056027768587228, 1.1501867024400951),
        ["visual.transformer.resblocks.0.mlp.c_fc.weight"] = (0.6879402729159665, 7.922758462597155),
        ["visual.transformer.resblocks.0.mlp.c_proj.bias"] = (-0.018769868765957654, 0.28240833918099495),
        ["visual.transformer.resblocks.0.mlp.c_proj.weight"] = (-13.338579472921992, 8.040808681214676),
    };

    /// <summary>An attention's key bias (the middle third of in_proj_bias) changes no output, since softmax ignores
    /// a shift shared by a query's scores: its gradient is zero in exact arithmetic, and AdamW turns the rounding
    /// noise it has instead into steps of a full learning rate whose signs follow the CPU's kernels. It is left out of
    /// the summary; the hash covers it.</summary>
    static Tensor WithoutKeyBias(string name, Tensor t)
    {
        if (!name.EndsWith("attn.in_proj_bias", StringComparison.Ordinal))
            return t;
        var thirds = t.chunk(3);
        return cat([thirds[0], thirds[2]]);
    }

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
                using var t = WithoutKeyBias(name, reader.Read(name).to(float64));
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
