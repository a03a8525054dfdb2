using System.CommandLine;
using System.Globalization;
using SemiClip.Build;
using SemiClip.Cli.Ui;
using SemiClip.Runtime;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip doctor</c>: is the native engine loaded, on what, and how fast.</summary>
public static class DoctorCommand
{
    public static Command Create()
    {
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var cmd = new Command(
            "doctor",
            "Print TorchSharp/LibTorch versions, devices, threads, the libstdc++ patch state and measured fp32/bf16 "
                + "matmul rates"
        )
        {
            device,
            threads,
        };
        cmd.SetAction(parse =>
        {
            CommonOptions.ApplyThreads(parse.GetValue(threads));
            var dev = DeviceSelector.Parse(parse.GetValue(device)!);
            var info = NativeRuntimeInfo.Collect();
            var gflops = NativeRuntimeInfo.MeasureMatmulGflops(dev);
            // Smaller than the fp32 probe: where bf16 is a scalar fallback (1–2 GFLOP/s), 1024³ takes a second.
            var bf16 = NativeRuntimeInfo.MeasureMatmulGflops(dev, n: 512, dtype: TorchSharp.torch.ScalarType.BFloat16);
            string bf16Verdict = NativeRuntimeInfo.Bf16IsNative(gflops, bf16)
                ? "native: precision bf16 pays here"
                : "a fallback: keep precision fp32 here";
            string patch = info.PatchState switch
            {
                PatchState.AlreadyPatched => "applied (system libstdc++ lacks GLIBCXX_3.4.32)",
                PatchState.Unpatched when info.SystemHasGlibcxx3432 =>
                    "not needed (system libstdc++ has GLIBCXX_3.4.32)",
                PatchState.Unpatched => "MISSING: rebuild with dotnet build",
                _ => "not applicable on this platform",
            };
            var inv = CultureInfo.InvariantCulture;
            ConsoleUi.Table(
                "semiclip doctor",
                ["item", "value"],
                new List<string[]>
                {
                    new[] { "TorchSharp", info.TorchSharpVersion },
                    new[] { "LibTorch", info.LibTorchVersion },
                    new[] { "CUDA available", info.CudaAvailable ? $"yes ({info.CudaDevices} device(s))" : "no" },
                    new[] { "selected device", dev.ToString() },
                    new[] { "threads", info.Threads.ToString(inv) },
                    new[]
                    {
                        "native heap",
                        Program.HeapKeepsFreedMemory
                            ? "keeps freed memory (large tensors are not mapped and unmapped every step)"
                            : "returns freed memory to the system (SEMICLIP_KEEP_FREED_MEMORY=0, or not glibc)",
                    },
                    new[] { "system libstdc++", info.SystemLibStdCxx ?? "(none found)" },
                    new[] { "libLibTorchSharp.so", info.LibTorchSharpPath },
                    new[] { "GLIBCXX_3.4.32 patch", patch },
                    new[] { "fp32 matmul 1024^3", $"{gflops.ToString("F1", inv)} GFLOP/s (best of 10)" },
                    new[] { "bf16 matmul 512^3", $"{bf16.ToString("F1", inv)} GFLOP/s ({bf16Verdict})" },
                }
            );
            return 0;
        });
        return cmd;
    }
}
