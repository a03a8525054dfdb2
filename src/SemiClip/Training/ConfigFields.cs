using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using SemiClip.Data;
using SemiClip.Losses;

namespace SemiClip.Training;

/// <summary>One config field as files spell it (<c>loss.caption_weight</c>) with the .NET type it is read
/// into.</summary>
public sealed record ConfigField(string Name, Type Type)
{
    /// <summary>The type without <c>Nullable&lt;&gt;</c>.</summary>
    public Type ValueType => Nullable.GetUnderlyingType(Type) ?? Type;

    /// <summary>What a value of this field must look like, in the user's words.</summary>
    public string Expected =>
        ValueType switch
        {
            var t when t == typeof(int) || t == typeof(long) => "a whole number",
            var t when t == typeof(double) => "a number",
            var t when t == typeof(bool) => "true or false",
            var t when t == typeof(double[]) => "a list of numbers ([0.5, 0.5, 0.5])",
            var t when t == typeof(TrainingMethod) => "one of clip, sclip, softclip, sclip+softclip",
            var t when t.IsEnum => "one of "
                + string.Join(", ", Enum.GetNames(t).Select(n => JsonNamingPolicy.SnakeCaseLower.ConvertName(n))),
            _ => "text",
        };
}

/// <summary>The fields a training config may hold, read off <see cref="TrainConfig"/> and its <c>loss</c> section, so
/// a field declared there is known here without a second list. Loading checks every given field against this table
/// (unknown names with a did-you-mean, values of the wrong type), and reports all problems at once.</summary>
public static class ConfigFields
{
    public static readonly IReadOnlyDictionary<string, ConfigField> All = Collect(typeof(TrainConfig), "")
        .ToDictionary(f => f.Name, StringComparer.Ordinal);

    /// <summary>Values a saved config records but a config never sets (effective_split_seed): accepted and ignored on
    /// reading, so a run's own config.json reads back.</summary>
    static readonly HashSet<string> WrittenOnly = typeof(TrainConfig)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.SetMethod == null && p.GetCustomAttribute<JsonIgnoreAttribute>() == null)
        .Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name))
        .ToHashSet(StringComparer.Ordinal);

    static IEnumerable<ConfigField> Collect(Type type, string prefix)
    {
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetCustomAttribute<JsonIgnoreAttribute>() != null || p.SetMethod == null)
                continue;
            var name = prefix + JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name);
            if (p.PropertyType == typeof(LossConfig))
                foreach (var f in Collect(p.PropertyType, name + "."))
                    yield return f;
            else
                yield return new ConfigField(name, p.PropertyType);
        }
    }

    /// <summary>The known field nearest to <paramref name="unknown"/>, when one is near enough to be a typo or a
    /// field given outside its section (<c>caption_weight</c> for <c>loss.caption_weight</c>).</summary>
    public static string? Suggest(string unknown)
    {
        var leaf = unknown[(unknown.LastIndexOf('.') + 1)..];
        var sameLeaf = All.Keys.FirstOrDefault(k => k != unknown && k[(k.LastIndexOf('.') + 1)..] == leaf);
        if (sameLeaf != null)
            return sameLeaf;
        var best = All.Keys.Select(k => (Key: k, Distance: Distance(unknown, k))).MinBy(x => x.Distance);
        return best.Key != null && best.Distance <= Math.Max(2, unknown.Length / 4) ? best.Key : null;
    }

    static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    /// <summary>Checks every field of a config object (as read from a file plus overrides): unknown names, values
    /// that are not of the field's type. Text fields given a number or a boolean (<c>run_name: 2024</c>) take its
    /// text. Returns one problem per field, each naming it.</summary>
    public static List<SettingProblem> Check(JsonObject root, JsonSerializerOptions options)
    {
        var problems = new List<SettingProblem>();
        foreach (var (key, value) in TrainConfig.Leaves(root).ToList())
        {
            if (WrittenOnly.Contains(key))
                continue;
            if (!All.TryGetValue(key, out var field))
            {
                if (key == "loss")
                    problems.Add(
                        SettingProblem.Of("loss", "must be a section of loss fields (loss: {caption_weight: 0.5, …})")
                    );
                else
                {
                    var hint = Suggest(key) is { } s
                        ? $" (did you mean {s}?)"
                        : " (`semiclip train --print-config` lists every field)";
                    problems.Add(new SettingProblem(key, $"unknown config field '{key}'{hint}"));
                }
                continue;
            }
            if (value is null)
                continue;
            if (
                field.ValueType == typeof(string)
                && value is JsonValue v
                && v.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False
            )
            {
                Set(root, key, JsonValue.Create(v.ToJsonString()));
                continue;
            }
            try
            {
                JsonSerializer.Deserialize(value, field.Type, options);
            }
            catch (Exception e)
                when (e is JsonException or InvalidOperationException or FormatException or OverflowException)
            {
                problems.Add(SettingProblem.Of(key, $"{Shorten(value.ToJsonString())} is not {field.Expected}"));
            }
        }
        return problems;
    }

    static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

    static void Set(JsonObject root, string dotted, JsonNode? value)
    {
        var keys = dotted.Split('.');
        var node = root;
        foreach (var k in keys[..^1])
            node = node[k]!.AsObject();
        node[keys[^1]] = value;
    }
}

/// <summary>A config file and the line each of its fields is on.</summary>
public sealed record ConfigOrigin(string Path, IReadOnlyDictionary<string, int> Lines)
{
    /// <summary>Fields whose value an override set after the file was read: a problem with them is not the
    /// file's.</summary>
    public IReadOnlySet<string> Overridden { get; init; } = new HashSet<string>();

    /// <summary>The problem located at its field's line, or at its section's (<c>loss</c> for a field inside it) when
    /// the field itself was not given; as it is when the file gave neither.</summary>
    public SettingProblem Locate(SettingProblem problem)
    {
        if (Overridden.Contains(problem.Field))
            return problem;
        for (var field = problem.Field; field.Length > 0; field = field[..Math.Max(0, field.LastIndexOf('.'))])
            if (Lines.TryGetValue(field, out int line))
                return problem with { Location = $"{Path}:{line}" };
        return problem;
    }

    /// <summary>This origin without the fields a later override set (their values no longer come from the
    /// file).</summary>
    public ConfigOrigin Without(IEnumerable<string> fields) =>
        this with
        {
            Overridden = Overridden.Concat(fields).ToHashSet(StringComparer.Ordinal),
        };

    /// <summary>Problems in the order of the file's lines, those it did not give last (in their own order).</summary>
    public static List<SettingProblem> InFileOrder(IEnumerable<SettingProblem> problems) =>
        problems
            .Select((p, i) => (p, i))
            .OrderBy(x => x.p.Location is { } l ? int.Parse(l[(l.LastIndexOf(':') + 1)..]) : int.MaxValue)
            .ThenBy(x => x.i)
            .Select(x => x.p)
            .ToList();
}
