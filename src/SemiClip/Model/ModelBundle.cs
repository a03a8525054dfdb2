using System.Text.Json;
using SemiClip.Tokenization;
using SemiClip.Training;

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
            var configPath = Path.Combine(path, "config.json");
            if (vocab is null && File.Exists(configPath))
            {
                var cfg = JsonSerializer.Deserialize<TrainConfig>(File.ReadAllText(configPath), TrainConfig.JsonOptions);
                vocab = cfg?.Vocab;
            }
            return new ModelBundle(ClipCheckpoint.Load(weights), ClipTokenizer.Load(vocab));
        }
        return new ModelBundle(ClipCheckpoint.Load(path), ClipTokenizer.Load(vocab));
    }

    public void Dispose() => Model.Dispose();
}
