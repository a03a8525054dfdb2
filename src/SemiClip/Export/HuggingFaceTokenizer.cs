using System.Text.Json.Nodes;
using SemiClip.Tokenization;

namespace SemiClip.Export;

/// <summary>A CLIP tokenizer as Hugging Face's <c>tokenizer.json</c> (the tokenizers library's format, which
/// transformers.js and the .NET ports read): byte-level BPE with "&lt;/w&gt;" word ends, CLIP's split pattern, NFC +
/// whitespace + lower-case normalisation, start/end tokens added around every text and truncation to the
/// context.</summary>
public static class HuggingFaceTokenizer
{
    public static JsonObject Json(ClipTokenizer t, int contextLength = 77)
    {
        var vocab = new JsonObject();
        foreach (var (token, id) in t.Vocabulary().OrderBy(kv => kv.Value))
            vocab[token] = id;
        var merges = new JsonArray(t.Merges.Select(m => (JsonNode)JsonValue.Create($"{m.Left} {m.Right}")!).ToArray());
        JsonObject Special(int id, string content) =>
            new()
            {
                ["id"] = id,
                ["content"] = content,
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = true,
            };
        JsonObject Regex(string pattern) => new() { ["Regex"] = pattern };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = new JsonObject
            {
                ["direction"] = "Right",
                ["max_length"] = contextLength,
                ["strategy"] = "LongestFirst",
                ["stride"] = 0,
            },
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(
                Special(t.StartOfTextId, ClipTokenizer.StartOfText),
                Special(t.EndOfTextId, ClipTokenizer.EndOfText)
            ),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "NFC" },
                    new JsonObject
                    {
                        ["type"] = "Replace",
                        ["pattern"] = Regex(@"\s+"),
                        ["content"] = " ",
                    },
                    new JsonObject { ["type"] = "Lowercase" }
                ),
            },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split",
                        ["pattern"] = Regex(ClipTokenizer.SplitPattern),
                        ["behavior"] = "Removed",
                        ["invert"] = true,
                    },
                    new JsonObject
                    {
                        ["type"] = "ByteLevel",
                        ["add_prefix_space"] = false,
                        ["trim_offsets"] = true,
                        ["use_regex"] = false,
                    }
                ),
            },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "RobertaProcessing",
                ["sep"] = new JsonArray(ClipTokenizer.EndOfText, t.EndOfTextId),
                ["cls"] = new JsonArray(ClipTokenizer.StartOfText, t.StartOfTextId),
                ["trim_offsets"] = false,
                ["add_prefix_space"] = false,
            },
            ["decoder"] = new JsonObject
            {
                ["type"] = "ByteLevel",
                ["add_prefix_space"] = true,
                ["trim_offsets"] = true,
                ["use_regex"] = true,
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = ClipTokenizer.EndOfText,
                ["continuing_subword_prefix"] = "",
                ["end_of_word_suffix"] = "</w>",
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["vocab"] = vocab,
                ["merges"] = merges,
            },
        };
    }

    /// <summary>An uncased or cased BERT WordPiece tokenizer as <c>tokenizer.json</c> (BertNormalizer,
    /// BertPreTokenizer, WordPiece with "##" continuations, [CLS] text [SEP]), over <paramref name="vocab"/> (the
    /// lines of vocab.txt); <paramref name="maxLength"/> cuts as SemiClip's tokenizer does (first tokens, then
    /// [SEP]).</summary>
    public static JsonObject WordPieceJson(IReadOnlyList<string> vocab, bool lowercase, int? maxLength)
    {
        var ids = new JsonObject();
        for (int i = 0; i < vocab.Count; i++)
            ids[vocab[i]] = i;
        var tokens = vocab.ToArray();
        int Id(string token) => Array.IndexOf(tokens, token);
        JsonObject Special(string token) =>
            new() { ["SpecialToken"] = new JsonObject { ["id"] = token, ["type_id"] = 0 } };
        JsonObject Sequence(string id, int type) =>
            new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = type } };
        JsonObject SpecialIds(string token) =>
            new()
            {
                ["id"] = token,
                ["ids"] = new JsonArray(Id(token)),
                ["tokens"] = new JsonArray(token),
            };
        var added = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Where(t => Id(t) >= 0);
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = maxLength is int n
                ? new JsonObject
                {
                    ["direction"] = "Right",
                    ["max_length"] = n,
                    ["strategy"] = "LongestFirst",
                    ["stride"] = 0,
                }
                : null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(
                added
                    .Select(t =>
                        (JsonNode)
                            new JsonObject
                            {
                                ["id"] = Id(t),
                                ["content"] = t,
                                ["single_word"] = false,
                                ["lstrip"] = false,
                                ["rstrip"] = false,
                                ["normalized"] = false,
                                ["special"] = true,
                            }
                    )
                    .ToArray()
            ),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "BertNormalizer",
                ["clean_text"] = true,
                ["handle_chinese_chars"] = true,
                ["strip_accents"] = null,
                ["lowercase"] = lowercase,
            },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "BertPreTokenizer" },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(Special("[CLS]"), Sequence("A", 0), Special("[SEP]")),
                ["pair"] = new JsonArray(
                    Special("[CLS]"),
                    Sequence("A", 0),
                    Special("[SEP]"),
                    Sequence("B", 1),
                    Special("[SEP]")
                ),
                ["special_tokens"] = new JsonObject
                {
                    ["[CLS]"] = SpecialIds("[CLS]"),
                    ["[SEP]"] = SpecialIds("[SEP]"),
                },
            },
            ["decoder"] = new JsonObject
            {
                ["type"] = "WordPiece",
                ["prefix"] = "##",
                ["cleanup"] = true,
            },
            ["model"] = new JsonObject
            {
                ["type"] = "WordPiece",
                ["unk_token"] = "[UNK]",
                ["continuing_subword_prefix"] = "##",
                ["max_input_chars_per_word"] = 100,
                ["vocab"] = ids,
            },
        };
    }
}
