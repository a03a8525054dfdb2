using System.CommandLine;

namespace SemiClip.Cli.Commands;

/// <summary>Options shared by every command that computes.</summary>
public static class CommonOptions
{
    public static Option<string> Device() => new("--device")
    {
        Description = "auto | cpu | cuda | cuda:N (auto takes CUDA when present)",
        DefaultValueFactory = _ => "auto",
    };

    public static Option<int> Threads() => new("--threads")
    {
        Description = "CPU threads for tensor math (0: TorchSharp's default)",
        DefaultValueFactory = _ => 0,
    };

    public static void ApplyThreads(int threads)
    {
        if (threads > 0) TorchSharp.torch.set_num_threads(threads);
    }
}
