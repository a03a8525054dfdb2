using SemiClip.Model;
using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Tests.Model;

/// <summary>grad_checkpointing recomputes the transformer blocks in the backward pass: every parameter's gradient
/// equals the one kept activations give, the blocks really run again, and blocks above a locked part still learn.
/// </summary>
public class GradCheckpointingTests
{
    static Dictionary<string, Tensor> Gradients(ClipModel model, Tensor images, Tensor tokens)
    {
        model.zero_grad();
        using (var scope = NewDisposeScope())
        {
            var output = model.forward(images, tokens);
            var logits = output.ImageFeatures.matmul(output.TextFeatures.t()).mul(output.LogitScale);
            var labels = arange(images.shape[0], dtype: int64);
            var loss = nn
                .functional.cross_entropy(logits, labels)
                .Plus(nn.functional.cross_entropy(logits.t(), labels));
            loss.backward();
        }
        return model
            .named_parameters()
            .Where(p => p.parameter.grad is not null)
            .ToDictionary(p => p.name, p => p.parameter.grad!.clone());
    }

    static (ClipModel Kept, ClipModel Recomputed) Pair(bool resnet)
    {
        var kept = new ClipModel(ClipModelTests.Small(resnet));
        var recomputed = new ClipModel(ClipModelTests.Small(resnet));
        recomputed.load_state_dict(kept.state_dict());
        recomputed.SetGradCheckpointing(true);
        return (kept, recomputed);
    }

    static (Tensor Images, Tensor Tokens) Batch(ClipModel model)
    {
        var g = new TorchSharp.torch.Generator(5);
        int size = model.Config.Vision.ImageSize;
        return (
            randn([3, 3, size, size], generator: g),
            ClipModelTests.Tokens([98, 5, 6, 99], [98, 7, 99], [98, 8, 9, 10, 99])
        );
    }

    static void AssertSameGradients(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.OrderBy(k => k), actual.Keys.OrderBy(k => k));
        foreach (var (name, grad) in expected)
        {
            double scale = Math.Max(1e-6, grad.abs().max().item<float>());
            double diff = (grad - actual[name]).abs().max().item<float>();
            Assert.True(diff <= 1e-5 * scale, $"{name}: gradients differ by {diff} (largest {scale})");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GradientsEqualThoseWithKeptActivations(bool resnet)
    {
        var (kept, recomputed) = Pair(resnet);
        var (images, tokens) = Batch(kept);
        var expected = Gradients(kept, images, tokens);
        Assert.Contains("transformer.resblocks.0.attn.in_proj_weight", expected.Keys);
        AssertSameGradients(expected, Gradients(recomputed, images, tokens));
    }

    [Fact]
    public void BlocksRunAgainInTheBackwardPass()
    {
        var (kept, recomputed) = Pair(resnet: false);
        var (images, tokens) = Batch(kept);
        int Forwards(ClipModel model)
        {
            int calls = 0;
            var block =
                model.named_modules().First(m => m.name == "transformer.resblocks.1").module as ResidualAttentionBlock;
            var hook = block!.register_forward_hook(
                (_, _, output) =>
                {
                    calls++;
                    return output;
                }
            );
            Gradients(model, images, tokens);
            hook.remove();
            return calls;
        }
        Assert.Equal(1, Forwards(kept));
        Assert.Equal(2, Forwards(recomputed));
    }

    /// <summary>With the text embeddings frozen, the first block's input needs no gradient; its parameters still
    /// get theirs, because they are inputs of the recomputed node.</summary>
    [Fact]
    public void BlocksAboveFrozenEmbeddingsStillGetGradients()
    {
        var (kept, recomputed) = Pair(resnet: false);
        foreach (var model in new[] { kept, recomputed })
            foreach (var (name, p) in model.named_parameters())
                if (name is "token_embedding.weight" or "positional_embedding")
                    p.requires_grad = false;
        var (images, tokens) = Batch(kept);
        var expected = Gradients(kept, images, tokens);
        Assert.DoesNotContain("token_embedding.weight", expected.Keys);
        Assert.Contains("transformer.resblocks.0.mlp.c_fc.weight", expected.Keys);
        AssertSameGradients(expected, Gradients(recomputed, images, tokens));
    }

    [Fact]
    public void NothingIsRecomputedWithoutGradients()
    {
        var (kept, recomputed) = Pair(resnet: false);
        var (_, tokens) = Batch(kept);
        using var noGrad = no_grad();
        using var a = kept.EncodeText(tokens);
        using var b = recomputed.EncodeText(tokens);
        Assert.True(a.allclose(b, rtol: 0, atol: 0));
        Assert.False(b.requires_grad);
    }
}
