using System.Text.RegularExpressions;

namespace SemiClip.Cli;

/// <summary>The library's errors name config fields (it has no command line); on the command line the user
/// also needs the flag that sets each, so this maps the fields an error mentions to their flags.</summary>
public static class FlagHints
{
    static readonly (string Field, string Flag)[] Map =
    [
        ("train_data", "--data"),
        ("label_ratio", "--label-ratio"),
        ("run_name", "--run-name"),
        ("skip_bad", "--skip-bad"),
        ("device", "--device"),
        ("threads", "--threads"),
        ("method", "--method"),
        ("image_root", "--image-root"),
        ("csv_img_key", "--csv-img-key"),
        ("csv_caption_key", "--csv-caption-key"),
        ("csv_separator", "--csv-separator"),
        ("allow_config_change", "--allow-config-change"),
        ("resume", "--resume"),
        ("vocab", "--vocab"),
    ];

    public static string Annotate(string message)
    {
        var hints = Map.Where(m =>
                Regex.IsMatch(message, $@"(?<![\w-]){Regex.Escape(m.Field)}(?![\w-])")
                && !message.Contains(m.Flag, StringComparison.Ordinal)
            )
            .Select(m =>
                m.Field is "resume" or "allow_config_change"
                    ? $"{m.Field}: {m.Flag}"
                    : $"{m.Field}: {m.Flag} or --set {m.Field}=…"
            )
            .ToList();
        return hints.Count == 0 ? message : $"{message} [on the command line, {string.Join("; ", hints)}]";
    }
}
