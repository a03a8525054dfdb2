using SemiClip.Model;
using SemiClip.Synthetic;
using SemiClip.Tokenization;

namespace SemiClip.Tests.Support;

/// <summary>A very small model config and a small synthetic dataset written to disk, for trainer and CLI
/// tests.</summary>
public static class TinySetup
{
    public static ClipConfig Model(int vocab) =>
        new()
        {
            EmbedDim = 16,
            Vision = new VisionConfig
            {
                ImageSize = 16,
                Width = 32,
                Layers = 1,
                PatchSize = 8,
                HeadWidth = 16,
            },
            Text = new TextConfig
            {
                ContextLength = 24,
                VocabSize = vocab,
                Width = 32,
                Heads = 2,
                Layers = 1,
            },
        };

    /// <summary>Writes data/ (aerial, 16 px), merges.txt and model.json under <paramref name="dir"/>; returns the
    /// config overrides that use them.</summary>
    public static List<string> Write(TempDir dir, int perClass = 4)
    {
        SyntheticDataset.Generate(
            dir.File("data"),
            new SyntheticDataset.Options
            {
                TrainPerClass = perClass,
                TestPerClass = 2,
                ImageSize = 16,
                CaptionsPerImage = 3,
                Seed = 5,
            }
        );
        var captions = File.ReadLines(dir.File("data/train.jsonl"))
            .SelectMany(l =>
                System
                    .Text.Json.JsonDocument.Parse(l)
                    .RootElement.GetProperty("captions")
                    .EnumerateArray()
                    .Select(c => c.GetString()!)
            )
            .ToList();
        BpeTrainer.Save(dir.File("merges.txt"), BpeTrainer.Train(captions, 200));
        var vocab = ClipTokenizer.FromMergesFile(dir.File("merges.txt")).VocabSize;
        File.WriteAllText(dir.File("model.json"), Model(vocab).ToJson());
        return new List<string>
        {
            $"runs_dir=\"{dir.File("runs")}\"",
            $"model=\"{dir.File("model.json")}\"",
            $"vocab=\"{dir.File("merges.txt")}\"",
            $"train_data=\"{dir.File("data/train.jsonl")}\"",
            $"keywords=\"{dir.File("data/keywords.txt")}\"",
            "batch_size=8",
            "workers=1",
            "warmup_steps=2",
            "device=\"cpu\"",
            "log_every=1",
        };
    }

    /// <summary>Saves a fresh tiny model (vocabulary from <see cref="Write"/>'s merges.txt), its weights drawn from a
    /// fixed seed, as start.safetensors and returns the setting that starts a run from it, for runs that must start
    /// alike.</summary>
    public static string SavedStart(TempDir dir)
    {
        using var generator = new TorchSharp.torch.Generator(0);
        using var start = new ClipModel(
            Model(ClipTokenizer.FromMergesFile(dir.File("merges.txt")).VocabSize),
            generator
        );
        ClipCheckpoint.Save(start, dir.File("start.safetensors"));
        return $"pretrained=\"{dir.File("start.safetensors")}\"";
    }
}
