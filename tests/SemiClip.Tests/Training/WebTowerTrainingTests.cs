using SemiClip.Model;
using SemiClip.Runs;
using SemiClip.Tests.Export;
using SemiClip.Tests.Support;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Tests.Training;

/// <summary>The web-pretrained towers' kinds (an ImageNet ResNet trunk, a BERT encoder) under the features that
/// shape what learns: layer-wise lr decay over their lock groups, and S-CLIP+SoftCLIP with the top stage and the top
/// layer left open, the frozen start as teacher.</summary>
public class WebTowerTrainingTests
{
    [Fact]
    public void LayerDecayScalesTrunkStagesAndBertLayersFromTheTopAndLeavesTheProjections()
    {
        using var model = new ClipModel(OnnxPretrainedTowersTests.WebTowers());
        var decay = new TrainConfig { ImageLayerDecay = 0.5, TextLayerDecay = 0.8 };
        var scales = ModelLocks.LearningRateScales(model, decay);
        // Image groups: stem, layer1 … layer4 (top); text groups: embeddings, layer 0, layer 1 (top).
        Assert.Equal(Math.Pow(0.5, 4), scales["visual.trunk.conv1.weight"], 12);
        Assert.Equal(Math.Pow(0.5, 3), scales["visual.trunk.layer1.0.conv1.weight"], 12);
        Assert.Equal(0.5, scales["visual.trunk.layer3.1.bn2.weight"], 12);
        Assert.Equal(1, scales["visual.trunk.layer4.0.conv1.weight"]);
        Assert.Equal(1, scales["visual.proj.weight"]);
        Assert.Equal(0.64, scales["text.transformer.embeddings.word_embeddings.weight"], 12);
        Assert.Equal(0.8, scales["text.transformer.encoder.layer.0.attention.self.query.weight"], 12);
        Assert.Equal(1, scales["text.transformer.encoder.layer.1.output.dense.weight"]);
        Assert.Equal(1, scales["text.proj.weight"]);
        Assert.Equal(1, scales["logit_scale"]);
    }

    [Fact]
    public async Task SClipWithSoftClipTrainsOnlyTheOpenTopOfBothTowersAndTheRunServesAndSuggests()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir, perClass: 2)
            .Where(o => !o.StartsWith("model=", StringComparison.Ordinal))
            .Where(o => !o.StartsWith("vocab=", StringComparison.Ordinal));
        var vocab = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }
            .Concat(Enumerable.Range(0, 55).Select(i => $"word{i}"))
            .ToArray();
        File.WriteAllLines(dir.File("vocab.txt"), vocab);
        var config = OnnxPretrainedTowersTests.WebTowers(imageSize: 32);
        File.WriteAllText(dir.File("model.json"), config.ToJson());
        using (var start = OnnxTowersTests.Randomised(config))
            ClipCheckpoint.Save(start, dir.File("start.safetensors"));
        var settings = TrainConfig.Load(
            null,
            [
                .. common,
                $"model=\"{dir.File("model.json")}\"",
                $"vocab=\"{dir.File("vocab.txt")}\"",
                $"pretrained=\"{dir.File("start.safetensors")}\"",
                "method=\"sclip+softclip\"",
                "label_ratio=0.5",
                "loss.intra_source=\"teacher\"",
                "lock_image=true",
                "lock_image_unlocked_groups=1",
                "lock_image_freeze_bn_stats=true",
                "lock_text=true",
                "lock_text_unlocked_layers=1",
                "image_layer_decay=0.7",
                "text_layer_decay=0.7",
                "steps=3",
                "checkpoint_every=1000",
                "run_name=\"open-top\"",
            ]
        );
        using (var session = new TrainingSession(settings, resume: false))
            session.Train();

        var parts = File.ReadLines(dir.File("runs/open-top/metrics.jsonl"))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("kind").GetString() == "train")
            .ToList();
        Assert.Equal(3, parts.Count);
        Assert.All(parts, e => Assert.True(double.IsFinite(e.GetProperty("loss").GetDouble())));

        using var before = ClipCheckpoint.Load(dir.File("start.safetensors"));
        using var after = ClipCheckpoint.Load(dir.File("runs/open-top/model.safetensors"));
        var a = before.state_dict();
        var b = after.state_dict();
        bool Same(string name) => a[name].equal(b[name]).all().item<bool>();
        foreach (var locked in new[]
        {
            "visual.trunk.conv1.weight",
            "visual.trunk.layer3.1.conv2.weight",
            "visual.trunk.layer3.1.bn2.running_mean", // statistics of a locked stage stay
            "text.transformer.embeddings.word_embeddings.weight",
            "text.transformer.encoder.layer.0.intermediate.dense.weight",
        })
            Assert.True(Same(locked), $"{locked} is locked but changed");
        foreach (var open in new[]
        {
            "visual.trunk.layer4.0.conv1.weight",
            "visual.proj.weight",
            "text.transformer.encoder.layer.1.output.dense.weight",
            "text.proj.weight",
        })
            Assert.False(Same(open), $"{open} is open but did not change");

        // serve searches with the run's WordPiece tokenizer: its top score is the cosine an independent encoding gives.
        var run = dir.File("runs/open-top");
        await using (
            var server = await SemiClip.Serve.ServeApp.StartAsync(
                new SemiClip.Serve.ServeOptions
                {
                    Model = run,
                    Images = dir.File("data/test"),
                    SaveCaptions = dir.File("new.jsonl"),
                    Port = 0,
                    Device = "cpu",
                    Workers = 1,
                }
            )
        )
        {
            await server.Loaded;
            Assert.True(server.State.Error is null, server.State.Error);
            using var http = new HttpClient { BaseAddress = server.Address };
            var reply = System.Text.Json.JsonDocument.Parse(
                await http.GetStringAsync("/api/search?q=" + Uri.EscapeDataString("a river between fields") + "&k=3")
            );
            var top = reply.RootElement.GetProperty("results")[0].GetProperty("image");
            using var bundle = ModelBundle.Load(run);
            Assert.IsType<SemiClip.Tokenization.WordPieceTokenizer>(bundle.Tokenizer);
            var embedder = new SemiClip.Evaluation.Embedder(bundle.Model, bundle.Tokenizer, CPU, workers: 1);
            using var text = embedder.EncodeTexts(["a river between fields"]);
            using var image = embedder.EncodeImages([top.GetProperty("path").GetString()!]);
            Assert.Equal(image.matmul(text.t()).item<float>(), top.GetProperty("score").GetDouble(), 3);
        }

        // suggest ranks the unpaired images with the run's image tower.
        var (code, output) = CliProcess.Run(
            "suggest", "--model", run, "--captions", dir.File("data/train.jsonl"), "--images", dir.File("data/test"),
            "--top", "3", "--out", dir.File("suggested.csv")
        );
        Assert.True(code == 0, output);
        Assert.Equal(4, File.ReadAllLines(dir.File("suggested.csv")).Length); // header + 3
    }
}
