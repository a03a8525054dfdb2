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

    /// <param name="commandOptions">The options of the command that failed (with their aliases); a hint names only
    /// what that command has (<c>search</c> has no <c>--set</c>). Null: every hint, as for <c>train</c>.</param>
    public static string Annotate(string message, IReadOnlyCollection<string>? commandOptions = null)
    {
        bool Has(string option) => commandOptions is null || commandOptions.Contains(option);
        var hints = Map.Where(m => Names(message, m.Field) && !message.Contains(m.Flag, StringComparison.Ordinal))
            .Select(m =>
            {
                var ways = new List<string>();
                if (Has(m.Flag))
                    ways.Add(m.Flag);
                if (m.Field is not ("resume" or "allow_config_change") && Has("--set"))
                    ways.Add($"--set {m.Field}=…");
                return ways.Count == 0 ? null : $"{m.Field}: {string.Join(" or ", ways)}";
            })
            .OfType<string>()
            .ToList();
        return hints.Count == 0 ? message : $"{message} [on the command line, {string.Join("; ", hints)}]";
    }

    // A field with an underscore is never an English word; a one-word field (device, method, vocab…) counts only where
    // a message names it as a field ("field device", "device:", "device was …"), not in "No space left on device".
    static bool Names(string message, string field)
    {
        var name = Regex.Escape(field);
        return field.Contains('_')
            ? Regex.IsMatch(message, $@"(?<![\w-]){name}(?![\w-])")
            : Regex.IsMatch(message, $@"(field |\()({name})(?![\w-])|(?<![\w-]){name}(:| was | must | is | =|=)");
    }
}
