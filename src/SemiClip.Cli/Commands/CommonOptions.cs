using System.CommandLine;
using SemiClip.Data;

namespace SemiClip.Cli.Commands;

/// <summary>Options shared by every command that computes.</summary>
public static class CommonOptions
{
    public static Option<string> Device() =>
        new("--device")
        {
            Description = "auto | cpu | cuda | cuda:N (auto takes CUDA when present)",
            DefaultValueFactory = _ => "auto",
        };

    public static Option<int> Threads() =>
        new Option<int>("--threads")
        {
            Description = "CPU threads for tensor math (0: TorchSharp's default)",
            DefaultValueFactory = _ => 0,
        }.AtLeast(0);

    /// <summary>Refuses a value below <paramref name="min"/> at parse time, naming the option.</summary>
    public static Option<T> AtLeast<T>(this Option<T> option, T min)
        where T : struct, IComparable<T>
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<T>().CompareTo(min) < 0)
                r.AddError($"{option.Name} must be at least {min} (got {r.GetValueOrDefault<T>()}).");
        });
        return option;
    }

    /// <summary>Refuses an integer outside [<paramref name="min"/>, <paramref name="max"/>] at parse time, naming the
    /// option.</summary>
    public static Option<int> Between(this Option<int> option, int min, int max)
    {
        option.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<int>();
            if (v < min || v > max)
                r.AddError($"{option.Name} must be in [{min}, {max}] (got {v}).");
        });
        return option;
    }

    /// <summary>Refuses a value outside [<paramref name="min"/>, <paramref name="max"/>] at parse time.</summary>
    public static Option<double> Within(this Option<double> option, double min, double max)
    {
        option.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<double>();
            if (!(v >= min && v <= max))
                r.AddError($"{option.Name} must be in [{min}, {max}] (got {v}).");
        });
        return option;
    }

    /// <summary>Refuses a fraction of images kept paired outside (0, 1] at parse time, naming the option.</summary>
    public static Option<T> LabelRatio<T>(this Option<T> option)
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<T>() is double v && !(v > 0 && v <= 1))
                r.AddError($"{option.Name} must be in (0, 1] (got {v}).");
        });
        return option;
    }

    /// <summary>Checks before any work that <paramref name="folder"/> can be written, naming the option.</summary>
    public static void RequireWritableFolder(string folder, string option) => IO.WritableFolder.Require(folder, option);

    /// <summary>The one-writer lock (<see cref="IO.OutputLock"/>) on what <paramref name="option"/> names, held
    /// until the command ends; another process writing it is named in the refusal.</summary>
    public static IO.OutputLock LockOutput(string path, string option)
    {
        try
        {
            return IO.OutputLock.Acquire(path);
        }
        catch (IO.OutputBusyException e)
        {
            throw new IO.OutputBusyException(e.Output, e.Holder, $"{option} {e.Message}");
        }
    }

    /// <summary><c>--overwrite</c> for a command that writes one output: without it an existing output is
    /// refused.</summary>
    public static Option<bool> Overwrite() =>
        new("--overwrite") { Description = "replace --out if it exists (without this an existing --out is refused)" };

    /// <summary>Refuses an existing output (a file, or a folder with anything in it) unless
    /// <paramref name="overwrite"/>.</summary>
    public static void RefuseExisting(string path, string option, bool overwrite)
    {
        bool exists = File.Exists(path) || Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any();
        if (exists && !overwrite)
            throw new ArgumentException(
                $"{option} {path} already exists; pass --overwrite to replace it, or write to another path."
            );
    }

    /// <summary>Where a file is written: its folder must be writable.</summary>
    public static void RequireWritableFile(string file, string option) =>
        RequireWritableFolder(Path.GetDirectoryName(Path.GetFullPath(file))!, option);

    /// <summary>CSV/TSV columns and separator, with open_clip's names.</summary>
    public static (Option<string?> ImageKey, Option<string?> CaptionKey, Option<string?> Separator) CsvColumns() =>
        (
            new Option<string?>("--csv-img-key")
            {
                Description = "CSV/TSV column with the image path (default filepath)",
            },
            new Option<string?>("--csv-caption-key")
            {
                Description = "CSV/TSV column with the caption (default title)",
            },
            new Option<string?>("--csv-separator")
            {
                Description = "CSV/TSV separator, one character or \\t (default: tab for .tsv, comma otherwise)",
            }
        );

    public static Option<string> Activation() =>
        new Option<string>("--activation")
        {
            Description =
                "auto (what the weights' metadata or the files beside them record; else QuickGELU, said) | "
                + "quick_gelu | gelu",
            DefaultValueFactory = _ => "auto",
        }.OneOf("auto", "quick_gelu", "gelu");

    /// <summary>Refuses a value that is not one of <paramref name="allowed"/>, naming them.</summary>
    public static Option<string> OneOf(this Option<string> option, params string[] allowed)
    {
        option.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            if (!allowed.Contains(v))
                r.AddError($"{option.Name} '{v}' is not one of {string.Join(", ", allowed)}.");
        });
        return option;
    }

    /// <summary>Loads a run folder or weights file; an activation assumed for want of a record is said on standard
    /// error.</summary>
    public static Model.ModelBundle LoadModel(string path, string? vocab, string activation)
    {
        var bundle = Model.ModelBundle.Load(path, vocab, activation);
        if (bundle.Activation is { Assumed: true } origin)
            Console.Error.WriteLine($"semiclip: note: {origin.Describe(path)}");
        return bundle;
    }

    /// <summary>How thoroughly to check images before the work: the pre-flight pass <c>train</c> also runs.</summary>
    public static Option<string> CheckImages() =>
        new("--check-images")
        {
            Description =
                "check every image first: headers (files that are not images), full (decode all: truncated files "
                + "too), none",
            DefaultValueFactory = _ => "headers",
        };

    /// <summary>The pre-flight image check with a progress bar; problems are reported (fail-fast: all at once, then
    /// stop). Returns the images that failed.</summary>
    public static HashSet<string> RunImageCheck(
        IReadOnlyList<string> images,
        string depth,
        BadInputReport report,
        string howToSkip
    )
    {
        var parsed = Data.Images.ImageCheck.ParseDepth(depth);
        return Ui.ConsoleUi.Counting("checking images", update =>
            Data.Images.ImageCheck.Screen(images, parsed, report, howToSkip, progress: update)
        );
    }

    /// <summary>"\t" as typed on a shell means a tab.</summary>
    public static string Separator(string typed) => typed == "\\t" ? "\t" : typed;

    public static void ApplyThreads(int threads)
    {
        if (threads > 0)
            TorchSharp.torch.set_num_threads(threads);
    }
}
