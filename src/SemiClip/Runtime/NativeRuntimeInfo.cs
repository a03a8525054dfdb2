using System.Diagnostics;
using System.Reflection;
using SemiClip.Build;
using static TorchSharp.torch;

namespace SemiClip.Runtime;

/// <summary>What <c>semiclip doctor</c> reports: versions, devices, threads, the libstdc++ patch, and a
/// measured matmul rate.</summary>
public sealed record NativeRuntimeInfo(
    string TorchSharpVersion,
    string LibTorchVersion,
    bool CudaAvailable,
    int CudaDevices,
    int Threads,
    string? SystemLibStdCxx,
    bool SystemHasGlibcxx3432,
    string LibTorchSharpPath,
    PatchState PatchState
)
{
    public static NativeRuntimeInfo Collect()
    {
        var torchSharpVersion = typeof(TorchSharp.torch)
            .Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()
            ?.InformationalVersion?.Split('+')[0]
            ?? "?";
        string libtorch = __version__;
        var lib = LibStdCxxCompatPatch.FindSystemLibStdCxx();
        bool has = lib != null && LibStdCxxCompatPatch.SystemHasVersion(lib);
        var so = FindLoadedLibTorchSharp();
        var state = so != null && File.Exists(so) ? LibStdCxxCompatPatch.Inspect(so) : PatchState.NotApplicable;
        return new NativeRuntimeInfo(
            torchSharpVersion,
            libtorch,
            cuda.is_available(),
            cuda.is_available() ? cuda.device_count() : 0,
            get_num_threads(),
            lib,
            has,
            so ?? "(not found)",
            state
        );
    }

    /// <summary>The libLibTorchSharp.so this process mapped, read from /proc/self/maps.</summary>
    static string? FindLoadedLibTorchSharp()
    {
        const string maps = "/proc/self/maps";
        if (File.Exists(maps))
            foreach (var line in File.ReadLines(maps))
            {
                int i = line.IndexOf('/');
                if (i >= 0 && line.EndsWith("libLibTorchSharp.so", StringComparison.Ordinal))
                    return line[i..];
            }
        return null;
    }

    /// <summary>Whether bf16 is worth training in on this device: its matmul at least half as fast as fp32's. Where
    /// bf16 is a scalar fallback (CPUs without AVX512-BF16 or AMX) it is two orders of magnitude slower, so the line
    /// between the two cases is wide.</summary>
    public static bool Bf16IsNative(double fp32Gflops, double bf16Gflops) => bf16Gflops >= 0.5 * fp32Gflops;

    /// <summary>Measures square matmul throughput (fp32 unless <paramref name="dtype"/> says otherwise) on <paramref
    /// name="device"/> in GFLOP/s (best of several timed repetitions after a warm-up).</summary>
    public static double MeasureMatmulGflops(
        Device device,
        int n = 1024,
        int repetitions = 10,
        ScalarType dtype = ScalarType.Float32
    )
    {
        using var scope = NewDisposeScope();
        var a = randn(n, n, device: device).to(dtype);
        var b = randn(n, n, device: device).to(dtype);
        for (int i = 0; i < 2; i++)
            a.matmul(b).Dispose();
        double best = double.MaxValue;
        for (int r = 0; r < repetitions; r++)
        {
            var sw = Stopwatch.StartNew();
            using (var c = a.matmul(b))
            {
                if (device.type == TorchSharp.DeviceType.CUDA)
                    cuda.synchronize(device);
            }
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best / 1e9;
    }
}
