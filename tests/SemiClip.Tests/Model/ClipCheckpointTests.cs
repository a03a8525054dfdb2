using SemiClip.IO;
using SemiClip.Model;
using SemiClip.Tests.Support;
using static TorchSharp.torch;

namespace SemiClip.Tests.Model;

public class ClipCheckpointTests
{
    static (Tensor Img, Tensor Txt) Outputs(ClipModel m, Tensor images, Tensor tokens)
    {
        m.eval();
        using var _ = no_grad();
        return (m.EncodeImage(images), m.EncodeText(tokens));
    }

    static (Tensor, Tensor) Inputs(ClipConfig c)
    {
        using var seeded = new Generator(7);
        return (
            randn(2, 3, c.Vision.ImageSize, c.Vision.ImageSize, generator: seeded),
            ClipModelTests.Tokens(new[] { 98, 3, 4, 99 }, new[] { 98, 5, 99 })
        );
    }

    [Theory]
    [InlineData(false, WeightNaming.OpenAi)]
    [InlineData(false, WeightNaming.HuggingFace)]
    [InlineData(true, WeightNaming.OpenAi)]
    public void ExportThenImportGivesIdenticalOutputs(bool resnet, WeightNaming naming)
    {
        using var dir = new TempDir();
        var cfg = ClipModelTests.Small(resnet);
        using var seeded = new Generator(3);
        using var original = new ClipModel(cfg, seeded);
        var (images, tokens) = Inputs(cfg);
        var expected = Outputs(original, images, tokens);
        var path = dir.File("m.safetensors");
        ClipCheckpoint.Save(original, path, naming);
        using var loaded = ClipCheckpoint.Load(path);
        Assert.Equal(cfg, loaded.Config with { Vision = loaded.Config.Vision });
        var actual = Outputs(loaded, images, tokens);
        Assert.True(expected.Img.equal(actual.Img).all().item<bool>());
        Assert.True(expected.Txt.equal(actual.Txt).all().item<bool>());
    }

    [Fact]
    public void HuggingFaceExportUsesTheRealKeyNames()
    {
        using var dir = new TempDir();
        using var model = new ClipModel(ClipModelTests.Small());
        var path = dir.File("hf.safetensors");
        ClipCheckpoint.Save(model, path, WeightNaming.HuggingFace);
        using var r = new SafeTensorsReader(path);
        Assert.Contains("vision_model.pre_layrnorm.weight", r.Names);
        Assert.Contains("text_model.encoder.layers.1.self_attn.q_proj.weight", r.Names);
        Assert.Contains("visual_projection.weight", r.Names);
        Assert.DoesNotContain(r.Names, n => n.Contains("in_proj"));
        Assert.Equal(new long[] { 16, 32 }, r.Info("visual_projection.weight").Shape); // Linear layout: [out, in]
    }

    [Fact]
    public void CrossNamingRoundTripKeepsEveryTensor()
    {
        using var dir = new TempDir();
        using var seeded = new Generator(4);
        using var model = new ClipModel(ClipModelTests.Small(), seeded);
        var hf = dir.File("hf.safetensors");
        ClipCheckpoint.Save(model, hf, WeightNaming.HuggingFace);
        using var viaHf = ClipCheckpoint.Load(hf);
        var openai = dir.File("openai.safetensors");
        ClipCheckpoint.Save(viaHf, openai, WeightNaming.OpenAi);
        using var back = ClipCheckpoint.Load(openai);
        var a = model.state_dict();
        foreach (var (k, v) in back.state_dict())
            Assert.True(a[k].equal(v).all().item<bool>(), k);
    }

    [Fact]
    public void HuggingFaceFileWithoutOurMetadataUsesConfigJsonBesideIt()
    {
        using var dir = new TempDir();
        var cfg = ClipModelTests.Small(quick: true);
        using var model = new ClipModel(cfg);
        var sd = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        var hfTensors = HuggingFaceKeyMap.FromOpenAi(sd);
        // no semiclip metadata, as transformers writes it
        SafeTensorsWriter.Write(dir.File("model.safetensors"), hfTensors);
        File.WriteAllText(
            dir.File("config.json"),
            SemiClip.Export.ModelExport.HuggingFaceConfig(cfg, 98, 99).ToJsonString()
        );
        using var loaded = ClipCheckpoint.Load(dir.File("model.safetensors"));
        Assert.Equal(2, loaded.Config.Text.Heads); // from config.json: shapes alone would say 16/64 → 1
        Assert.Equal(16, loaded.Config.Vision.HeadWidth);
        Assert.True(loaded.Config.QuickGelu);
    }

    [Fact]
    public void WrongConfigListsMissingUnexpectedAndWrongShapedKeys()
    {
        using var dir = new TempDir();
        using var model = new ClipModel(ClipModelTests.Small());
        var path = dir.File("m.safetensors");
        ClipCheckpoint.Save(model, path);
        var other = ClipModelTests.Small() with
        {
            EmbedDim = 24,
            Text = ClipModelTests.Small().Text with { Layers = 3 },
        };
        var e = Assert.Throws<WeightMismatchException>(() => ClipCheckpoint.Load(path, other));
        Assert.Contains("m.safetensors", e.Message);
        Assert.Contains("missing (12): transformer.resblocks.2.", e.Message);
        Assert.Contains("text_projection: file [16, 16] vs model [16, 24]", e.Message);
        var fewer = ClipModelTests.Small() with { Text = ClipModelTests.Small().Text with { Layers = 1 } };
        var e2 = Assert.Throws<WeightMismatchException>(() => ClipCheckpoint.Load(path, fewer));
        Assert.Contains("unexpected (12): transformer.resblocks.1.", e2.Message);
    }

    [Fact]
    public void ConflictingActivationIsRefused()
    {
        using var dir = new TempDir();
        using var model = new ClipModel(ClipModelTests.Small(quick: true));
        var path = dir.File("q.safetensors");
        ClipCheckpoint.Save(model, path);
        var e = Assert.Throws<WeightMismatchException>(() =>
            ClipCheckpoint.Load(path, ClipModelTests.Small(quick: false))
        );
        Assert.Contains("quick_gelu", e.Message);
    }

    [Fact]
    public void TruncatedCheckpointGivesTheSafetensorsError()
    {
        using var dir = new TempDir();
        using var model = new ClipModel(ClipModelTests.Small());
        var path = dir.File("t.safetensors");
        ClipCheckpoint.Save(model, path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        var e = Assert.Throws<SafeTensorsFormatException>(() => ClipCheckpoint.Load(path));
        Assert.Contains("truncated", e.Message);
    }

    [Theory]
    [InlineData("ViT-B-32", WeightNaming.OpenAi)]
    [InlineData("ViT-B-32", WeightNaming.HuggingFace)]
    [InlineData("RN50", WeightNaming.OpenAi)]
    public void PublishedArchitecturesAreInferredFromShapesAlone(string name, WeightNaming naming)
    {
        // A checkpoint with the real key names and shapes but without SemiClip's metadata, as a
        // converted OpenAI .pt or a transformers export would be (bf16 keeps the file small).
        using var dir = new TempDir();
        var cfg = ClipConfig.Load(name);
        Dictionary<string, Tensor> tensors;
        using (no_grad())
        using (var model = new ClipModel(cfg))
        {
            var sd = model
                .state_dict()
                .Where(kv => !kv.Key.EndsWith("num_batches_tracked"))
                .ToDictionary(kv => kv.Key, kv => kv.Value.to(bfloat16));
            tensors = naming == WeightNaming.HuggingFace ? HuggingFaceKeyMap.FromOpenAi(sd) : sd;
        }
        var path = dir.File("w.safetensors");
        SafeTensorsWriter.Write(path, tensors);
        foreach (var t in tensors.Values)
            t.Dispose();
        using var loaded = ClipCheckpoint.Load(path);
        Assert.Equal(cfg.Vision with { }, loaded.Config.Vision with { MlpRatio = cfg.Vision.MlpRatio });
        Assert.Equal(cfg.Text, loaded.Config.Text);
        Assert.Equal(cfg.EmbedDim, loaded.Config.EmbedDim);
        Assert.True(loaded.Config.QuickGelu);
    }
}
