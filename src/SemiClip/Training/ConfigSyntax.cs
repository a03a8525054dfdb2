using System.Text;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace SemiClip.Training;

/// <summary>Where each field of a config file is (its line, so a problem with its value can name it), and a field given
/// twice is an error at its second line: both parsers would otherwise keep one of the two values (YamlDotNet the last,
/// System.Text.Json without saying where). Field names are dotted (<c>loss.caption_weight</c>) and snake_case, as the
/// config reads them.</summary>
static class ConfigSyntax
{
    sealed class Level(string path)
    {
        public HashSet<string>? Keys; // null: a sequence
        public bool ExpectKey = true;
        public string LastKey = "";

        /// <summary>The dotted name of this mapping or sequence ("" at the top).</summary>
        public string Path = path;

        /// <summary>The name a container opened inside this one takes: in a mapping, the key it is the value
        /// of.</summary>
        public string Child => Keys is null ? Path : Join(Path, LastKey);
    }

    static string Join(string prefix, string key) =>
        (prefix.Length == 0 ? key : $"{prefix}.{key}").Replace('-', '_');

    static Level Open(Stack<Level> levels, bool mapping) =>
        new(levels.Count == 0 ? "" : levels.Peek().Child)
        {
            Keys = mapping ? new HashSet<string>(StringComparer.Ordinal) : null,
        };

    /// <summary>Each field's line (1-based), for every key of every mapping.</summary>
    public static Dictionary<string, int> YamlFieldLines(string yaml, string path)
    {
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var parser = new Parser(new StringReader(yaml));
        var levels = new Stack<Level>();
        void ValueDone()
        {
            if (levels.Count > 0 && levels.Peek().Keys != null)
                levels.Peek().ExpectKey = true;
        }
        while (MoveNext(parser))
        {
            switch (parser.Current)
            {
                case MappingStart:
                    levels.Push(Open(levels, mapping: true));
                    break;
                case SequenceStart:
                    levels.Push(Open(levels, mapping: false));
                    break;
                case MappingEnd or SequenceEnd:
                    levels.Pop();
                    ValueDone();
                    break;
                case Scalar scalar when levels.Count > 0 && levels.Peek() is { Keys: { } keys, ExpectKey: true } level:
                    if (!keys.Add(scalar.Value))
                        throw new InvalidDataException(
                            $"{path}:{scalar.Start.Line}: invalid YAML: field '{scalar.Value}' is given twice."
                        );
                    level.ExpectKey = false;
                    level.LastKey = scalar.Value;
                    lines[Join(level.Path, scalar.Value)] = (int)scalar.Start.Line;
                    break;
                case Scalar or AnchorAlias:
                    ValueDone();
                    break;
            }
        }
        return lines;
    }

    /// <summary>The next event, or false at the end or at a syntax error (reported by the deserializer that follows,
    /// with its line; YamlDotNet's scanner throws InvalidOperationException on some malformed flow mappings).</summary>
    static bool MoveNext(Parser parser)
    {
        try
        {
            return parser.MoveNext();
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Each field's line (1-based), for every property of every object.</summary>
    public static Dictionary<string, int> JsonFieldLines(string json, string path)
    {
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var bytes = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(
            bytes,
            new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }
        );
        var levels = new Stack<Level>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        levels.Push(Open(levels, mapping: true));
                        break;
                    case JsonTokenType.StartArray:
                        levels.Push(Open(levels, mapping: false));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        levels.Pop();
                        break;
                    case JsonTokenType.PropertyName when levels.Peek() is { Keys: { } names } level:
                        var key = reader.GetString()!;
                        int line = 1 + bytes.AsSpan(0, (int)reader.TokenStartIndex).Count((byte)'\n');
                        if (!names.Add(key))
                            throw new InvalidDataException(
                                $"{path}:{line}: invalid JSON: field '{key}' is given twice."
                            );
                        level.LastKey = key;
                        lines[Join(level.Path, key)] = line;
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // Syntax errors are reported by the parser that follows, with their line.
        }
        return lines;
    }
}
