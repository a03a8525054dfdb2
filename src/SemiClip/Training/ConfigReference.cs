using System.ComponentModel;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SemiClip.Losses;

namespace SemiClip.Training;

/// <summary>Every config field explained where it is declared (a <see cref="DescriptionAttribute"/>):
/// <c>semiclip train --print-config</c> prints it with the effective and default values, and docs/config.md's
/// reference is this table (a test keeps them in step, and fails when a field has no description).</summary>
public static class ConfigReference
{
    /// <summary>Each field's meaning, read from the <see cref="DescriptionAttribute"/> at its declaration (in <see
    /// cref="TrainConfig"/> and its nested sections such as <see cref="LossConfig"/>), under its config name.</summary>
    public static readonly IReadOnlyDictionary<string, string> Meaning = Described(typeof(TrainConfig), "");

    static Dictionary<string, string> Described(Type type, string prefix)
    {
        var meanings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var name = prefix + JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name);
            if (property.GetCustomAttribute<DescriptionAttribute>() is { } description)
                meanings[name] = description.Description;
            else if (property.PropertyType == typeof(LossConfig))
                foreach (var (field, meaning) in Described(property.PropertyType, name + "."))
                    meanings[field] = meaning;
        }
        return meanings;
    }

    /// <summary>Every field as (dotted name, value) in file order, from a config's JSON form.</summary>
    public static IEnumerable<(string Field, JsonNode? Value)> Fields(TrainConfig config) =>
        TrainConfig.Leaves(JsonNode.Parse(config.ToJson())!.AsObject());

    /// <summary>One line per field: name = effective value (default …, if different) # meaning.</summary>
    public static string Render(TrainConfig config)
    {
        var defaults = Fields(new TrainConfig()).ToDictionary(f => f.Field, f => Text(f.Value));
        var sb = new StringBuilder();
        foreach (var (field, value) in Fields(config))
        {
            var now = Text(value);
            var fallback = defaults.GetValueOrDefault(field, "unset");
            sb.Append(field).Append(" = ").Append(now);
            if (now != fallback)
                sb.Append("   (default ").Append(fallback).Append(')');
            sb.Append("   # ").Append(Meaning.GetValueOrDefault(field, "(undocumented)")).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>docs/config.md's table: field, default, meaning.</summary>
    public static string Markdown()
    {
        var sb = new StringBuilder("| field | default | meaning |\n|---|---|---|\n");
        foreach (var (field, value) in Fields(new TrainConfig()))
            sb.Append(
                $"| `{field}` | `{Text(value)}` | "
                    + $"{Meaning.GetValueOrDefault(field, "(undocumented)").Replace("|", "\\|")} |\n"
            );
        return sb.ToString();
    }

    static string Text(JsonNode? v) => v is null ? "unset" : v.ToJsonString();
}
