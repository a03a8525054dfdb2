using SemiClip.Data;

namespace SemiClip.Cli;

/// <summary>The library's errors name config fields (it has no command line); on the command line the user also needs
/// the flag that sets each. A <see cref="SettingsException"/> says which field each of its problems is about, so every
/// problem gets the hint for its own field on its own line; a bad input's fix is <c>skip_bad</c>. Nothing is read out
/// of message text.</summary>
public static class FlagHints
{
    /// <summary>Each config field a command-line flag sets, under the flag's name: <c>train</c>'s aliases are read from
    /// here, and other commands name their flags the same.</summary>
    public static readonly IReadOnlyList<(string Field, string Flag)> Map =
    [
        ("method", "--method"),
        ("train_data", "--data"),
        ("image_root", "--image-root"),
        ("steps", "--steps"),
        ("batch_size", "--batch-size"),
        ("keywords", "--keywords"),
        ("pretrained", "--pretrained"),
        ("runs_dir", "--runs-dir"),
        ("run_name", "--run-name"),
        ("check_images", "--check-images"),
        ("label_ratio", "--label-ratio"),
        ("skip_bad", "--skip-bad"),
        ("device", "--device"),
        ("threads", "--threads"),
        ("csv_img_key", "--csv-img-key"),
        ("csv_caption_key", "--csv-caption-key"),
        ("csv_separator", "--csv-separator"),
        ("allow_config_change", "--allow-config-change"),
        ("vocab", "--vocab"),
    ];

    /// <summary>Options that are not config fields, so <c>--set</c> cannot give them.</summary>
    static readonly HashSet<string> NotSettable = ["allow_config_change"];

    /// <summary>The config field a flag sets.</summary>
    public static string FieldOf(string flag) => Map.Single(m => m.Flag == flag).Field;

    /// <param name="commandOptions">The options of the command that failed (with their aliases); a hint names only
    /// what that command has (<c>search</c> has no <c>--set</c>). Null: every hint, as for <c>train</c>.</param>
    public static string Describe(Exception e, IReadOnlyCollection<string>? commandOptions = null) =>
        e switch
        {
            // A problem located in a config file is fixed on its line there; the others get their flag.
            SettingsException s => s.Describe(p => p.Location is null ? Hint(p.Field, p.Text, commandOptions) : ""),
            BadInputException => e.Message + Hint("skip_bad", e.Message, commandOptions),
            _ => e.Message,
        };

    /// <summary>" [on the command line: --flag or --set field=…]" for a field, or "" where the failing command has
    /// no way to set it or the line already names its flag.</summary>
    public static string Hint(string field, string line, IReadOnlyCollection<string>? commandOptions = null)
    {
        bool Has(string option) => commandOptions is null || commandOptions.Contains(option);
        var flags = Map.Where(m => m.Field == field).Select(m => m.Flag).ToList();
        if (flags.Any(f => line.Contains(f, StringComparison.Ordinal)))
            return "";
        var ways = flags.Where(Has).ToList();
        if (!NotSettable.Contains(field) && Has("--set"))
            ways.Add($"--set {field}=…");
        return ways.Count == 0 ? "" : $" [on the command line: {string.Join(" or ", ways)}]";
    }
}
