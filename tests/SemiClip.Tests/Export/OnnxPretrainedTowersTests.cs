using SemiClip.Export;
using SemiClip.Model;
using SemiClip.Model.Pretrained;
using SemiClip.Tests.Model;
using static TorchSharp.torch;

namespace SemiClip.Tests.Export;

/// <summary>The web-pretrained towers' exported graphs (an ImageNet ResNet trunk, a BERT encoder, each with its
/// projection), run by ONNX Runtime, against SemiClip's own forward pass: every padding convention, block kind,
/// pooling, the BGR mean image, and sizes where SAME_LOWER pads unevenly.</summary>
public class OnnxPretrainedTowersTests
{
    internal static ClipConfig WebTowers(
        int imageSize = 32,
        bool bottleneck = false,
        ResNetPadding padding = ResNetPadding.Symmetric,
        bool bgrMeanImage = false,
        string pooling = "mean"
    )
    {
        var small = ClipModelTests.Small();
        return small with
        {
            Vision = small.Vision with
            {
                ImageSize = imageSize,
                ImageNet = new ImageNetResNetVision
                {
                    Trunk = new ImageResNetConfig
                    {
                        Layers = [1, 1, 2, 1],
                        Width = 4,
                        Bottleneck = bottleneck,
                        Padding = padding,
                    },
                    BgrMeanImage = bgrMeanImage,
                },
            },
            Text = small.Text with
            {
                VocabSize = 60,
                Bert = new BertConfig
                {
                    HiddenSize = 16,
                    NumHiddenLayers = 2,
                    NumAttentionHeads = 2,
                    IntermediateSize = 32,
                    MaxPositionEmbeddings = small.Text.ContextLength,
                    Pooling = pooling,
                },
            },
        };
    }

    [Theory]
    [InlineData(32, false, ResNetPadding.Symmetric, false)]
    [InlineData(32, true, ResNetPadding.Symmetric, false)]
    [InlineData(32, false, ResNetPadding.SameLower, true)]
    [InlineData(30, false, ResNetPadding.SameLower, true)] // odd maps after each stride: SAME_LOWER pads unevenly
    [InlineData(30, true, ResNetPadding.SameLower, false)]
    public void TheImageNetTrunkGraphGivesSemiClipsImageEmbeddings(
        int size,
        bool bottleneck,
        ResNetPadding padding,
        bool bgrMean
    )
    {
        using var model = OnnxTowersTests.Randomised(WebTowers(size, bottleneck, padding, bgrMean));
        var graph = OnnxTowers.Vision(model);
        foreach (int batch in new[] { 1, 3 })
        {
            using var images = rand([batch, 3, size, size], generator: new TorchSharp.torch.Generator(7)) * 255;
            using var _ = no_grad();
            using var expected = model.EncodeImage(images);
            OnnxTowersTests.Close(
                expected,
                OnnxTowersTests.Run(graph, "pixel_values", images, "image_embeds"),
                $"ImageNet ResNet {padding}, bottleneck {bottleneck}, {size} px, batch {batch}"
            );
        }
    }

    [Theory]
    [InlineData("mean")]
    [InlineData("cls")]
    public void TheBertGraphGivesSemiClipsTextEmbeddingsWithPadding(string pooling)
    {
        using var model = OnnxTowersTests.Randomised(WebTowers(pooling: pooling));
        var graph = OnnxTowers.Text(model);
        int context = model.Config.Text.ContextLength;
        var random = new Random(3);
        foreach (var (batch, length) in new[] { (1, context), (5, context), (5, 6) })
        {
            var ids = zeros(batch, length, dtype: int64);
            for (int i = 0; i < batch; i++)
            {
                int n = i == 0 ? length : 2 + random.Next(length - 2); // real tokens, then [PAD] (0)
                for (int j = 0; j < n; j++)
                    ids[i, j] = random.Next(1, 60);
            }
            using var _ = no_grad();
            using var expected = model.EncodeText(ids);
            OnnxTowersTests.Close(
                expected,
                OnnxTowersTests.Run(graph, "input_ids", ids, "text_embeds"),
                $"BERT {pooling}, batch {batch}, length {length}"
            );
        }
    }
}
