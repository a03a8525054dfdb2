using SemiClip.Evaluation;
using SemiClip.Model;
using SemiClip.Tokenization;
using static TorchSharp.torch;

namespace SemiClip.Tests.Evaluation;

public class EmbedderTests
{
    [Fact]
    public void TextFeaturesOfTheCutBatchEqualTheFullContextOnes()
    {
        // The embedder runs the text tower only up to the batch's longest text; the causal mask makes that exact.
        var tokenizer = ClipTokenizer.OpenAi();
        var config = ClipConfig.Load("tiny-vit");
        using var model = new ClipModel(config with { Text = config.Text with { VocabSize = tokenizer.VocabSize } });
        model.eval();
        string[] texts =
        [
            "a river",
            "many planes are parked next to a long building in an airport seen from above",
            "x",
        ];
        var embedder = new Embedder(model, tokenizer, CPU, batchSize: 2);
        using var cut = embedder.EncodeTexts(texts);
        using var _ = no_grad();
        using var full = nn.functional.normalize(
            model.EncodeText(tokenizer.Tokenize(texts, config.Text.ContextLength)),
            dim: -1
        );
        Assert.Equal(new long[] { 3, config.EmbedDim }, cut.shape);
        Assert.True(
            cut.allclose(full, rtol: 0, atol: 1e-5),
            $"max difference {(cut - full).abs().max().item<float>()}"
        );
    }
}
