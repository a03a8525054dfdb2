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

    /// <summary>CSV/TSV columns and separator, with open_clip's names.</summary>
    public static (Option<string?> ImageKey, Option<string?> CaptionKey, Option<string?> Separator) CsvColumns() => (
        new Option<string?>("--csv-img-key") { Description = "CSV/TSV column with the image path (default filepath)" },
        new Option<string?>("--csv-caption-key") { Description = "CSV/TSV column with the caption (default title)" },
        new Option<string?>("--csv-separator") { Description = "CSV/TSV separator, one character or \\t (default: tab for .tsv, comma otherwise)" });

    /// <summary>"\t" as typed on a shell means a tab.</summary>
    public static string Separator(string typed) => typed == "\\t" ? "\t" : typed;

    public static void ApplyThreads(int threads)
    {
        if (threads > 0) TorchSharp.torch.set_num_threads(threads);
    }
}
