using System.Text.Json.Nodes;
using SemiClip.Tokenization;

namespace SemiClip.Model;

/// <summary>A model with the tokenizer it was trained with. Accepts a run folder (its <c>model.safetensors</c> and its
/// vocabulary: the copy in vocab/, else the one named in its <c>config.json</c>) or a weights file (with <paramref
/// name="vocab"/>, default OpenAI's).</summary>
public sealed class ModelBundle(ClipModel model, ITextTokenizer tokenizer) : IDisposable
{
    public ClipModel Model { get; } = model;
    public ITextTokenizer Tokenizer { get; } = tokenizer;

    /// <summary>The CLIP BPE tokenizer, for what only CLIP's own text tower has (exports of its vocabulary).</summary>
    public ClipTokenizer ClipTokenizer =>
        Tokenizer as ClipTokenizer
        ?? throw new NotSupportedException(
            "this model has a BERT-family text tower, whose tokenizer is WordPiece (Tokenizer), not CLIP's BPE."
        );

    /// <summary>Where the model's activation came from (see <see cref="ClipCheckpoint.Load(string, out
    /// ActivationOrigin, ClipConfig?, string)"/>).</summary>
    public ActivationOrigin? Activation { get; init; }

    public static ModelBundle Load(string path, string? vocab = null, string activation = "auto")
    {
        if (Directory.Exists(path))
        {
            var weights = Path.Combine(path, "model.safetensors");
            if (!File.Exists(weights))
                throw new FileNotFoundException(
                    $"{path}: run folder has no model.safetensors (did training finish?).",
                    weights
                );
            var runModel = ClipCheckpoint.Load(weights, out var runOrigin, activation: activation);
            return Checked(runModel, TokenizerFor(runModel, vocab ?? RunVocabulary(path) ?? KeptBy(weights)), weights,
                runOrigin);
        }
        var model = ClipCheckpoint.Load(path, out var origin, activation: activation);
        return Checked(model, TokenizerFor(model, vocab ?? KeptBy(path)), path, origin);
    }

    /// <summary>The tokenizer of <paramref name="model"/>'s text tower: CLIP's BPE with <paramref name="vocab"/>, or
    /// for a BERT-family tower WordPiece with its vocab.txt (without one, the packaged start's, the only BERT tower
    /// SemiClip makes).</summary>
    public static ITextTokenizer TokenizerFor(ClipModel model, string? vocab)
    {
        if (model.Config.Text.Bert is null)
            return ClipTokenizer.Load(vocab);
        return vocab != null && vocab.EndsWith(".txt", StringComparison.OrdinalIgnoreCase)
            ? WordPieceTokenizer.FromVocabFile(vocab)
            : Pretrained.PackagedStart.Tokenizer();
    }

    /// <summary>Keeps a BERT tower's vocab.txt in <paramref name="folder"/>/vocab/, as <see cref="KeepVocabulary"/>
    /// does for CLIP's.</summary>
    public static void KeepWordPieceVocabulary(string vocabText, string folder)
    {
        var dir = Directory.CreateDirectory(Path.Combine(folder, VocabularyFolder)).FullName;
        IO.AtomicFile.WriteAllText(Path.Combine(dir, "vocab.txt"), vocabText);
    }

    /// <summary>The vocabulary of the run that keeps <paramref name="weights"/> in one of its own folders
    /// (RUN/checkpoints/step-N.safetensors, RUN/best/model.safetensors); null for weights outside a run.</summary>
    static string? KeptBy(string weights)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(weights));
        var run =
            parent != null && Path.GetFileName(parent) is "checkpoints" or "best"
                ? Path.GetDirectoryName(parent)
                : null;
        return run is null ? null : RunVocabulary(run);
    }

    /// <summary>Where a run folder keeps its own copy of the vocabulary files.</summary>
    public const string VocabularyFolder = "vocab";

    /// <summary>The vocabulary of a run folder: its own copy under vocab/ (so a copied folder works anywhere), else
    /// the one its config.json names, else null. Only that field is read, so the model layer does not depend on
    /// the training config's type.</summary>
    public static string? RunVocabulary(string runFolder)
    {
        var kept = Path.Combine(runFolder, VocabularyFolder);
        if (Directory.Exists(kept))
        {
            var files = Directory.GetFiles(kept).Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal)).ToArray();
            var json = files.FirstOrDefault(f => Path.GetFileName(f) == "vocab.json");
            if (json != null)
                return json;
            if (files.Length == 1)
                return files[0];
        }
        var configPath = Path.Combine(runFolder, "config.json");
        return Directory.Exists(runFolder) && File.Exists(configPath)
            ? JsonNode.Parse(File.ReadAllText(configPath))?["vocab"]?.GetValue<string>()
            : null;
    }

    /// <summary>Copies the vocabulary files of <paramref name="vocab"/> into <paramref name="folder"/>/vocab/, so the
    /// folder alone serves eval, embed and search on another machine (<see cref="RunVocabulary"/> prefers the copy).
    /// Nothing to copy for OpenAI's built-in vocabulary.</summary>
    public static void KeepVocabulary(string? vocab, string folder)
    {
        var files = ClipTokenizer.VocabularyFiles(vocab);
        if (files.Count == 0)
            return;
        var dir = Directory.CreateDirectory(Path.Combine(folder, VocabularyFolder)).FullName;
        foreach (var file in files)
        {
            var target = Path.Combine(dir, Path.GetFileName(file));
            if (Path.GetFullPath(file) == target)
                continue; // resuming from, or re-keeping, the copy itself
            File.Copy(file, target + ".tmp", overwrite: true);
            File.Move(target + ".tmp", target, overwrite: true);
        }
    }

    /// <summary>A tokenizer whose vocabulary does not match the model's token embedding would feed it ids it was
    /// never trained on (or out of range): refuse, naming both sizes.</summary>
    static ModelBundle Checked(ClipModel model, ITextTokenizer tokenizer, string weights, ActivationOrigin origin)
    {
        if (tokenizer.VocabSize != model.Config.Text.VocabSize)
        {
            model.Dispose();
            throw new ArgumentException(
                $"{weights}: the model's token embedding has {model.Config.Text.VocabSize} rows but the tokenizer has "
                    + $"{tokenizer.VocabSize} tokens (give the vocabulary the model was trained with: vocab / --vocab)."
            );
        }
        return new ModelBundle(model, tokenizer) { Activation = origin };
    }

    public void Dispose() => Model.Dispose();
}
