namespace SemiClip.Data;

/// <summary>A problem with one setting, named by its config field as files spell it (<c>loss.caption_weight</c>), so
/// a caller with another surface (the command line) can say which of its options sets the field without reading the
/// text. <paramref name="Location"/> is <c>file:line</c> where a config file gave the value (the fix is on that
/// line), null where it came from elsewhere (an override, a default); a problem the setting causes in a data file
/// names that file in its text.</summary>
public sealed record SettingProblem(string Field, string Text, string? Location = null)
{
    /// <summary>A problem worded the usual way: <c>config field FIELD: PROBLEM</c>.</summary>
    public static SettingProblem Of(string field, string problem) => new(field, $"config field {field}: {problem}");

    public override string ToString() => Location is null ? Text : $"{Location}: {Text}";
}

/// <summary>Every problem found in a set of settings, each with its field (and line, where a file gave it), reported
/// together so one run of the command shows all that needs fixing.</summary>
public sealed class SettingsException(IReadOnlyList<SettingProblem> problems, string? source = null)
    : Exception(Format(problems, source, _ => ""))
{
    public IReadOnlyList<SettingProblem> Problems { get; } = problems;

    /// <summary>Where the settings came from as a whole (a config file, "overrides"), said once before the
    /// problems; null when each problem says its own location.</summary>
    public string? Origin { get; } = source;

    public SettingsException(SettingProblem problem)
        : this([problem]) { }

    /// <summary>The message with <paramref name="suffix"/> (a hint for the problem's field, or "") after each problem,
    /// on the problem's own line.</summary>
    public string Describe(Func<SettingProblem, string> suffix) => Format(Problems, Origin, suffix);

    static string Format(IReadOnlyList<SettingProblem> problems, string? source, Func<SettingProblem, string> suffix)
    {
        string Line(SettingProblem p) => $"{p.ToString().TrimEnd('.')}.{suffix(p)}";
        // Problems that say their own file:line need no source before them: a path is said once on its line.
        var prefix = source is null || problems.Any(p => p.Location != null) ? "" : source + ": ";
        return problems.Count == 1
            ? prefix + Line(problems[0])
            : $"{prefix}{problems.Count} config problems:\n"
                + string.Join("\n", problems.Select(p => "  " + Line(p)));
    }
}
