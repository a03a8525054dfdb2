using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SemiClip.Data.Images;
using SemiClip.Export;
using SemiClip.Model;
using SemiClip.Tests.Support;
using SemiClip.Tokenization;
using SkiaSharp;
using static TorchSharp.torch;

namespace SemiClip.Tests.Export;

/// <summary>A run trained through the CLI with its own (learned) vocabulary and a non-default preprocessing.</summary>
public sealed class TrainedRunFixture : IDisposable
{
    public TempDir Dir { get; } = new();
    public string Run => Dir.File("runs/r");

    public TrainedRunFixture()
    {
        var common = TinySetup.Write(Dir);
        var (code, output) = CliProcess.Run([
            "train",
            "--run-name",
            "r",
            .. common.SelectMany(o => new[] { "--set", o }),
            "--set",
            "steps=2",
            "--set",
            "image_resize_mode=squash",
            "--set",
            "image_mean=[0.5, 0.5, 0.5]",
        ]);
        if (code != 0)
            throw new InvalidOperationException(output);
    }

    public void Dispose() => Dir.Dispose();
}

/// <summary>Each export format, checked by what loads it: ONNX Runtime for the ONNX pair, SemiClip's Hugging Face and
/// open_clip readers for the weights, the tokenizer files read back as a tokenizer.</summary>
public class ModelExportTests(TrainedRunFixture f) : IClassFixture<TrainedRunFixture>
{
    static readonly string[] Captions =
    [
        "Many buildings and green trees are around a playground.",
        "a RIVER, 3 bridges & 12 boats; (aerial) view!",
        "Café-lined «plaza» with ünicode — and numbers 2024",
        string.Join(' ', Enumerable.Repeat("very long caption", 60)),
    ];

    [Fact]
    public void TheOnnxPairRunsInOnnxRuntimeAndGivesTheRunsEmbeddings()
    {
        var outDir = f.Dir.File("onnx");
        var (code, output) = CliProcess.Run("export", "--model", f.Run, "--format", "onnx", "--out", outDir);
        Assert.True(code == 0, output);
        foreach (
            var name in new[]
            {
                "text_model.onnx",
                "vision_model.onnx",
                "vocab.json",
                "merges.txt",
                "preprocessor_config.json",
            }
        )
            Assert.True(File.Exists(Path.Combine(outDir, name)), name);

        using var bundle = ModelBundle.Load(f.Run);
        bundle.Model.eval();
        // The tokenizer files read back give the run's ids, on captions with punctuation, digits, unicode and past 77
        // tokens.
        var exported = ClipTokenizer.FromHuggingFace(
            Path.Combine(outDir, "vocab.json"),
            Path.Combine(outDir, "merges.txt")
        );
        int context = bundle.Model.Config.Text.ContextLength;
        Assert.Equal(bundle.Tokenizer.TokenizeToArray(Captions, context), exported.TokenizeToArray(Captions, context));
        // A learned vocabulary ends with its end token too, so the graph's highest-id pooling reads the right position.
        Assert.Equal(bundle.Tokenizer.VocabSize - 1, bundle.ClipTokenizer.EndOfTextId);

        using var ids = bundle.Tokenizer.Tokenize(Captions, context);
        using var text = new InferenceSession(Path.Combine(outDir, "text_model.onnx"));
        var onnxText = text.Run([
                NamedOnnxValue.CreateFromTensor(
                    "input_ids",
                    new DenseTensor<long>(ids.data<long>().ToArray(), [Captions.Length, context])
                ),
            ])
            .Single()
            .AsTensor<float>()
            .ToArray();
        using (no_grad())
        using (var expected = bundle.Model.EncodeText(ids))
            Assert.True(expected.data<float>().ToArray().Zip(onnxText, (a, b) => Math.Abs(a - b)).Max() < 1e-4);

        // Pixels prepared as the model records (squash, mean 0.5), then the graph: the embedder's features.
        var image = Directory
            .GetFiles(f.Dir.File("data/test"), "*.png", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .First();
        var prep = new ImagePreprocessor(bundle.Model.Config.Vision.ImageSize, bundle.Model.Config.Preprocess);
        Assert.Equal("squash", prep.Preprocessing.ResizeMode);
        var pixels = new float[prep.FloatsPerImage];
        using (var bmp = ImageDecoder.Decode(image))
            prep.Eval(bmp, pixels);
        int size = bundle.Model.Config.Vision.ImageSize;
        using var vision = new InferenceSession(Path.Combine(outDir, "vision_model.onnx"));
        var onnxImage = vision
            .Run([NamedOnnxValue.CreateFromTensor("pixel_values", new DenseTensor<float>(pixels, [1, 3, size, size]))])
            .Single()
            .AsTensor<float>()
            .ToArray();
        var norm = Math.Sqrt(onnxImage.Sum(v => (double)v * v));
        using var embedded = new SemiClip.Evaluation.Embedder(bundle.Model, bundle.Tokenizer, CPU, 4, 1).EncodeImages([
            image,
        ]);
        Assert.True(embedded.data<float>().ToArray().Zip(onnxImage, (a, b) => Math.Abs(a - b / norm)).Max() < 1e-4);

        var processor = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "preprocessor_config.json")))!;
        Assert.False(processor["do_center_crop"]!.GetValue<bool>());
        Assert.Equal(0.5, processor["image_mean"]![0]!.GetValue<double>());

        (code, output) = CliProcess.Run("export", "--model", f.Run, "--format", "onnx", "--out", outDir);
        Assert.NotEqual(0, code);
        Assert.Contains("already exists", output);
    }

    [Fact]
    public void TheHuggingFaceFolderReloadsBitIdenticallyAndPoolsAtTheModelsOwnEndToken()
    {
        var outDir = f.Dir.File("hf");
        var (code, output) = CliProcess.Run("export", "--model", f.Run, "--format", "hf", "--out", outDir);
        Assert.True(code == 0, output);
        foreach (
            var name in new[]
            {
                "config.json",
                "model.safetensors",
                "vocab.json",
                "merges.txt",
                "tokenizer.json",
                "tokenizer_config.json",
                "special_tokens_map.json",
                "preprocessor_config.json",
                "onnx/text_model.onnx",
                "onnx/vision_model.onnx",
            }
        )
            Assert.True(File.Exists(Path.Combine(outDir, name)), name);
        using var bundle = ModelBundle.Load(f.Run);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "config.json")))!;
        Assert.Equal(bundle.ClipTokenizer.EndOfTextId, config["text_config"]!["eos_token_id"]!.GetValue<int>());
        Assert.Equal(bundle.ClipTokenizer.StartOfTextId, config["text_config"]!["bos_token_id"]!.GetValue<int>());
        // a learned vocabulary: OpenAI's id would pool at the wrong place
        Assert.NotEqual(49407, bundle.ClipTokenizer.EndOfTextId);

        // HF naming, no SemiClip metadata needed: the config.json beside it gives heads and activation.
        using (var reader = new SemiClip.IO.SafeTensorsReader(Path.Combine(outDir, "model.safetensors")))
            Assert.True(HuggingFaceKeyMap.LooksLikeHuggingFace(reader.Names));
        using var reloaded = ClipCheckpoint.Load(Path.Combine(outDir, "model.safetensors"));
        var original = bundle.Model.state_dict();
        foreach (var (name, t) in reloaded.state_dict())
            Assert.True(t.equal(original[name]).all().item<bool>(), $"{name} differs after the round trip");

        var tokenizer = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "tokenizer.json")))!;
        Assert.Equal(bundle.Tokenizer.VocabSize, tokenizer["model"]!["vocab"]!.AsObject().Count);
        Assert.Equal(bundle.ClipTokenizer.EndOfTextId, tokenizer["post_processor"]!["sep"]![1]!.GetValue<int>());
    }

    [Fact]
    public void TheOpenClipFolderHasItsConfigAndWeightsAndAResNetGetsANoteInsteadOfABrokenHfConfig()
    {
        var outDir = f.Dir.File("oc");
        var (code, output) = CliProcess.Run("export", "--model", f.Run, "--format", "open_clip", "--out", outDir);
        Assert.True(code == 0, output);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "open_clip_config.json")))!;
        Assert.Equal(16, config["model_cfg"]!["vision_cfg"]!["image_size"]!.GetValue<int>());
        Assert.Equal("squash", config["preprocess_cfg"]!["resize_mode"]!.GetValue<string>());
        // its own vocabulary, beside it
        Assert.Equal(".", config["model_cfg"]!["text_cfg"]!["hf_tokenizer_name"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(outDir, "tokenizer.json")));
        using var reloaded = ClipCheckpoint.Load(Path.Combine(outDir, "open_clip_model.safetensors"));
        Assert.Equal("squash", reloaded.Config.Preprocess.ResizeMode);

        using var dir = new TempDir();
        using (var resnet = new ClipModel(SemiClip.Tests.Model.ClipModelTests.Small(resnet: true)))
        using (var bundle = new ModelBundle(resnet, ClipTokenizer.OpenAi()))
        {
            var files = ModelExport.Write(bundle, ExportFormat.HuggingFace, dir.File("hf-resnet"));
            Assert.Contains("README.md", files);
            Assert.DoesNotContain("config.json", files);
            Assert.Contains(Path.Combine("onnx", "vision_model.onnx"), files);
        }
    }
}
