using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using SemiClip.Export;
using SemiClip.Model;
using SemiClip.Tests.Model;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace SemiClip.Tests.Export;

/// <summary>The exported graphs, run by ONNX Runtime (the runtime that loads them), against SemiClip's own forward
/// pass.</summary>
public class OnnxTowersTests
{
    /// <summary>A model with every weight random, BatchNorm statistics included, so a wrong op cannot pass by
    /// luck.</summary>
    internal static ClipModel Randomised(ClipConfig config)
    {
        var model = new ClipModel(config);
        var g = new TorchSharp.torch.Generator(5);
        using (no_grad())
            foreach (var (name, t) in model.state_dict())
            {
                if (!t.is_floating_point())
                    continue;
                if (name.EndsWith("running_var", StringComparison.Ordinal))
                    t.copy_(rand(t.shape, generator: g) + 0.5);
                else if (name != "logit_scale")
                    t.copy_(randn(t.shape, generator: g) * 0.2);
            }
        model.eval();
        return model;
    }

    internal static float[] Run(ModelProto graph, string input, Tensor value, string output)
    {
        using var session = new InferenceSession(graph.ToByteArray());
        NamedOnnxValue feed =
            value.dtype == int64
                ? NamedOnnxValue.CreateFromTensor(
                    input,
                    new DenseTensor<long>(value.data<long>().ToArray(), value.shape.Select(d => (int)d).ToArray())
                )
                : NamedOnnxValue.CreateFromTensor(
                    input,
                    new DenseTensor<float>(value.data<float>().ToArray(), value.shape.Select(d => (int)d).ToArray())
                );
        using var results = session.Run([feed]);
        return results.Single(r => r.Name == output).AsTensor<float>().ToArray();
    }

    internal static void Close(Tensor expected, float[] actual, string what)
    {
        var e = expected.contiguous().data<float>().ToArray();
        Assert.Equal(e.Length, actual.Length);
        double worst = e.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1e-4, $"{what}: ONNX Runtime differs from TorchSharp by {worst}");
        Assert.True(
            e.Select(Math.Abs).Max() > 1e-2,
            $"{what}: outputs are near zero, the comparison would prove nothing"
        );
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void TheVisionGraphGivesSemiClipsImageEmbeddings(bool resnet, bool quickGelu)
    {
        using var model = Randomised(ClipModelTests.Small(resnet, quickGelu));
        var graph = OnnxTowers.Vision(model);
        int size = model.Config.Vision.ImageSize;
        foreach (int batch in new[] { 1, 7 })
        {
            using var images = randn(batch, 3, size, size, generator: new TorchSharp.torch.Generator((ulong)batch));
            using var _ = no_grad();
            using var expected = model.EncodeImage(images);
            Close(
                expected,
                Run(graph, "pixel_values", images, "image_embeds"),
                $"{(resnet ? "ResNet" : "ViT")}, batch {batch}"
            );
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheTextGraphGivesSemiClipsTextEmbeddingsAtEveryLength(bool quickGelu)
    {
        using var model = Randomised(ClipModelTests.Small(quick: quickGelu));
        var graph = OnnxTowers.Text(model);
        int end = model.Config.Text.VocabSize - 1,
            context = model.Config.Text.ContextLength;
        var random = new Random(3);
        foreach (var (batch, length) in new[] { (1, context), (7, context), (7, 8) })
        {
            var ids = zeros(batch, length, dtype: int64);
            for (int i = 0; i < batch; i++)
            {
                int n = 2 + random.Next(length - 2); // the end token at a different place in every row
                ids[i, 0] = end - 1;
                for (int j = 1; j < n - 1; j++)
                    ids[i, j] = random.Next(1, end - 1);
                ids[i, n - 1] = end;
            }
            using var _ = no_grad();
            using var expected = model.EncodeText(ids);
            Close(expected, Run(graph, "input_ids", ids, "text_embeds"), $"text, batch {batch}, length {length}");
        }
    }

    [Fact]
    public void HalfWeightsHalveTheFileAndStayClose()
    {
        using var model = Randomised(ClipModelTests.Small());
        var full = OnnxTowers.Vision(model);
        var half = OnnxTowers.Vision(model, halfWeights: true);
        Assert.True(half.CalculateSize() < 0.6 * full.CalculateSize());
        using var images = randn(2, 3, 16, 16, generator: new TorchSharp.torch.Generator(1));
        var a = Run(full, "pixel_values", images, "image_embeds");
        var b = Run(half, "pixel_values", images, "image_embeds");
        Assert.True(a.Zip(b, (x, y) => Math.Abs(x - y)).Max() < 0.05);
    }
}
