using System.Text;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace SemiClip.Training;

/// <summary>A field given twice in a config file is an error at its second line: both parsers would otherwise keep
/// one of the two values (YamlDotNet the last, System.Text.Json without saying where).</summary>
static class ConfigSyntax
{
    sealed class Level
    {
        public HashSet<string>? Keys; // null: a sequence
        public bool ExpectKey = true;
    }

    public static void RejectDuplicateYamlKeys(string yaml, string path)
    {
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
                    levels.Push(new Level { Keys = new HashSet<string>(StringComparer.Ordinal) });
                    break;
                case SequenceStart:
                    levels.Push(new Level());
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
                    break;
                case Scalar or AnchorAlias:
                    ValueDone();
                    break;
            }
        }
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

    public static void RejectDuplicateJsonKeys(string json, string path)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(
            bytes,
            new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }
        );
        var objects = new Stack<HashSet<string>?>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        objects.Push(new HashSet<string>(StringComparer.Ordinal));
                        break;
                    case JsonTokenType.StartArray:
                        objects.Push(null);
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        objects.Pop();
                        break;
                    case JsonTokenType.PropertyName when objects.Peek() is { } names && !names.Add(reader.GetString()!):
                        int line = 1 + bytes.AsSpan(0, (int)reader.TokenStartIndex).Count((byte)'\n');
                        throw new InvalidDataException(
                            $"{path}:{line}: invalid JSON: field '{reader.GetString()}' is given twice."
                        );
                }
            }
        }
        catch (JsonException)
        {
            // Syntax errors are reported by the parser that follows, with their line.
        }
    }
}
