using System.Text.Json;

namespace SemiClip.Bench;

/// <summary>Writes a benchmark's JSON report and Markdown table.</summary>
public static class BenchReport
{
    public static string ResultsDir(string[] args)
    {
        int i = Array.IndexOf(args, "--out");
        var dir = i >= 0 && i + 1 < args.Length ? args[i + 1] : Path.Combine(FindRepoRoot(), "bench", "results");
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static string Option(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    public static string RepoRoot() => FindRepoRoot();

    /// <summary>The real data's folder (<c>--data</c>, default ../shared/data/rsicd10k beside the repository), or null
    /// after saying on stderr what is missing.</summary>
    public static string? RsicdData(string[] args)
    {
        var fallback = Path.GetFullPath(Path.Combine(RepoRoot(), "..", "shared", "data", "rsicd10k"));
        var dir = Option(args, "--data", fallback);
        if (File.Exists(Path.Combine(dir, "dataset_rsicd10k.json")))
            return dir;
        Console.Error.WriteLine($"--data {dir}: no dataset_rsicd10k.json there (../shared/data/rsicd10k).");
        return null;
    }

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    static string FindRepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "SemiClip.sln")))
            d = d.Parent;
        return d?.FullName ?? Directory.GetCurrentDirectory();
    }

    /// <summary>The benchmark command as typed after the bench entry point, for a report to say what made it.</summary>
    public static string CommandLine() =>
        "dotnet run --project bench/SemiClip.Bench -c Release -- "
        + string.Join(' ', Environment.GetCommandLineArgs().Skip(1));

    public static void Write(string dir, string name, object report, string markdown)
    {
        File.WriteAllText(Path.Combine(dir, name + ".json"), JsonSerializer.Serialize(report, Json));
        File.WriteAllText(Path.Combine(dir, name + ".md"), markdown);
        Console.WriteLine($"wrote {Path.Combine(dir, name)}.json and .md");
    }
}
