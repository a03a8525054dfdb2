extern alias onnx;
using SemiClip.Evaluation;
using SemiClip.Export;
using SemiClip.Model;
using SemiClip.Model.Pretrained;
using SemiClip.Tests.Support;
using SemiClip.Tokenization;
using SkiaSharp;
using static TorchSharp.torch;
using OnnxClip = onnx::SemiClip.Onnx.OnnxClip;

namespace SemiClip.Tests.Export;

/// <summary>A model with an ImageNet ResNet trunk and a BERT text tower exported: SemiClip.Onnx (ONNX Runtime and the
/// exported WordPiece files alone) embeds as the TorchSharp model does, Hugging Face's own tokenizer reads the
/// exported tokenizer.json to the same ids, and the formats that cannot hold these towers say why.</summary>
public class WebTowerExportTests
{
    static readonly string[] Captions =
    [
        "a river runs between green fields",
        "two runways, an airport and many planes!",
        "Café by the harbour",
        "fields fields fields fields fields fields fields fields fields fields fields fields fields",
    ];

    static ModelBundle Bundle()
    {
        // 60 tokens: the specials, then words and pieces of the captions above (the rest become [UNK]).
        var words = "a river runs between green fields two runways an airport and many planes cafe by the harbour , ! "
            + "##s ##e ##way ##port";
        var vocab = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(words.Split(' ')).ToList();
        while (vocab.Count < 60)
            vocab.Add($"extra{vocab.Count}");
        var tokenizer = WordPieceTokenizer.FromVocab(new StringReader(string.Join("\n", vocab) + "\n"), "test vocab");
        var model = OnnxTowersTests.Randomised(
            OnnxPretrainedTowersTests.WebTowers(imageSize: 32, padding: ResNetPadding.SameLower, bgrMeanImage: true)
        );
        return new ModelBundle(model, tokenizer);
    }

    static List<string> Photos(TempDir dir) =>
        Enumerable
            .Range(0, 4)
            .Select(i =>
            {
                var random = new Random(i);
                var bitmap = new SKBitmap(new SKImageInfo(40, 28, SKColorType.Rgba8888, SKAlphaType.Unpremul));
                for (int y = 0; y < 28; y++)
                    for (int x = 0; x < 40; x++)
                        bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)(x * 6), (byte)(y * 9)));
                return TestImages.Encode(dir.File($"photo{i}.png"), bitmap, SKEncodedImageFormat.Png);
            })
            .ToList();

    static double MaxDifference(float[]?[] a, Tensor b) =>
        a.SelectMany(r => r!).Zip(b.data<float>().ToArray(), (x, y) => Math.Abs(x - y)).Max();

    [Theory]
    [InlineData(ExportFormat.Onnx)]
    [InlineData(ExportFormat.HuggingFace)]
    public void TheOnnxBackendEmbedsAsTheModelDoes(ExportFormat format)
    {
        using var dir = new TempDir();
        using var bundle = Bundle();
        var files = ModelExport.Write(bundle, format, dir.File("deploy"));
        Assert.Contains(files, f => f.EndsWith("vocab.txt", StringComparison.Ordinal));
        Assert.DoesNotContain("config.json", files); // no HF model class holds these towers (README.md says why)
        using var clip = OnnxClip.Load(dir.File("deploy"));
        var embedder = new Embedder(bundle.Model, bundle.Tokenizer, CPU, 8, 1);
        using (var expected = embedder.EncodeTexts(Captions))
            Assert.True(MaxDifference(clip.EmbedTexts(Captions), expected) < 1e-4);
        var photos = Photos(dir);
        using (var expected = embedder.EncodeImages(photos))
            Assert.True(MaxDifference(clip.EmbedImages(photos), expected) < 1e-4);
    }

    [Fact]
    public void HuggingFacesTokenizerReadsTheExportedFilesToTheSameIds()
    {
        using var dir = new TempDir();
        using var bundle = Bundle();
        ModelExport.Write(bundle, ExportFormat.Onnx, dir.File("deploy"));
        var huggingFace = new Tokenizers.DotNet.Tokenizer(vocabPath: dir.File("deploy/tokenizer.json"));
        int context = bundle.Model.Config.Text.ContextLength;
        var ours = bundle.Tokenizer.TokenizeToArray(Captions, context);
        for (int i = 0; i < Captions.Length; i++)
        {
            var theirs = huggingFace.Encode(Captions[i]).Select(x => (long)x).ToArray();
            var row = Enumerable.Range(0, context).Select(j => ours[i, j]).TakeWhile(id => id != 0).ToArray();
            Assert.Equal(row, theirs);
        }
        Assert.Equal(context, ours.GetLength(1));
        Assert.Contains(Enumerable.Range(0, context), j => ours[3, j] == 3); // the long caption is cut, [SEP] last
    }

    [Fact]
    public void OpenClipIsRefusedWithTheReason()
    {
        using var dir = new TempDir();
        using var bundle = Bundle();
        var e = Assert.Throws<NotSupportedException>(() =>
            ModelExport.Write(bundle, ExportFormat.OpenClip, dir.File("deploy"))
        );
        Assert.Contains("timm", e.Message);
        Assert.Contains("--format onnx or hf", e.Message);
        Assert.False(Directory.Exists(dir.File("deploy")));
    }
}
