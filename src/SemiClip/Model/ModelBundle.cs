using System.Text.Json.Nodes;
using SemiClip.Tokenization;

namespace SemiClip.Model;

/// <summary>A model with the tokenizer it was trained with. Accepts a run folder (its
/// <c>model.safetensors</c> and the vocabulary named in its <c>config.json</c>) or a weights file
/// (with <paramref name="vocab"/>, default OpenAI's).</summary>
public sealed class ModelBundle(ClipModel model, ClipTokenizer tokenizer) : IDisposable
{
    public ClipModel Model { get; } = model;
    public ClipTokenizer Tokenizer { get; } = tokenizer;

    public static ModelBundle Load(string path, string? vocab = null)
    {
        if (Directory.Exists(path))
        {
            var weights = Path.Combine(path, "model.safetensors");
            if (!File.Exists(weights)) throw new FileNotFoundException($"{path}: run folder has no model.safetensors (did training finish?).", weights);
            return Checked(ClipCheckpoint.Load(weights), ClipTokenizer.Load(vocab ?? RunVocabulary(path)), weights);
        }
        return Checked(ClipCheckpoint.Load(path), ClipTokenizer.Load(vocab), path);
    }

    /// <summary>The vocabulary a run folder's config.json names, or null. Only that field is read, so the model
    /// layer does not depend on the training config's type.</summary>
    public static string? RunVocabulary(string runFolder)
    {
        var configPath = Path.Combine(runFolder, "config.json");
        return Directory.Exists(runFolder) && File.Exists(configPath) ? JsonNode.Parse(File.ReadAllText(configPath))?["vocab"]?.GetValue<string>() : null;
    }

    /// <summary>A tokenizer whose vocabulary does not match the model's token embedding would feed it ids it was
    /// never trained on (or out of range): refuse, naming both sizes.</summary>
    static ModelBundle Checked(ClipModel model, ClipTokenizer tokenizer, string weights)
    {
        if (tokenizer.VocabSize != model.Config.Text.VocabSize)
        {
            model.Dispose();
            throw new ArgumentException($"{weights}: the model's token embedding has {model.Config.Text.VocabSize} rows but the tokenizer has " +
                                        $"{tokenizer.VocabSize} tokens (give the vocabulary the model was trained with: vocab / --vocab).");
        }
        return new ModelBundle(model, tokenizer);
    }

    public void Dispose() => Model.Dispose();
}
