using SemiClip.Model;
using static TorchSharp.torch;

namespace SemiClip.Tests.Model;

/// <summary>A model built from a generator has weights that depend on that generator alone, never on LibTorch's global
/// one (which these tests do not touch, so they cannot race with tests that seed it), with PyTorch's and open_clip's
/// distributions.</summary>
public class InitialWeightsTests
{
    static Dictionary<string, Tensor> Weights(ClipModel m) =>
        m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheSameSeedGivesTheSameWeightsWhateverDrewBefore(bool resnet)
    {
        var config = ClipModelTests.Small(resnet);
        using var g1 = new TorchSharp.torch.Generator(7);
        using var first = new ClipModel(config, g1);
        // Building the first model advanced the global generator (LibTorch's layer constructors draw from it).
        using var g2 = new TorchSharp.torch.Generator(7);
        using var second = new ClipModel(config, g2);
        using var g3 = new TorchSharp.torch.Generator(8);
        using var other = new ClipModel(config, g3);
        var (a, b, c) = (Weights(first), Weights(second), Weights(other));
        foreach (var (name, w) in a)
            Assert.True(w.allclose(b[name], rtol: 0, atol: 0), $"{name} differs for the same seed");
        Assert.Contains(a, kv => kv.Value.numel() > 1 && !kv.Value.allclose(c[kv.Key], rtol: 0, atol: 0));
    }

    [Fact]
    public void LayersKeepPyTorchsAndOpenClipsDistributions()
    {
        using var g = new TorchSharp.torch.Generator(3);
        using var model = new ClipModel(ClipModelTests.Small(resnet: true), g);
        var w = Weights(model);
        // PyTorch's default for a layer without open_clip's own rule: U(−1/√fan_in, 1/√fan_in).
        var fc = w["transformer.resblocks.0.mlp.c_fc.bias"];
        double bound = 1 / Math.Sqrt(16);
        Assert.True(fc.abs().max().item<float>() <= bound);
        Assert.True(fc.abs().max().item<float>() > bound / 4);
        var conv = w["visual.conv1.weight"]; // 3 → 4 channels, 3×3
        Assert.True(conv.abs().max().item<float>() <= 1 / Math.Sqrt(3 * 9));
        // open_clip's rules: zero attention bias, zero last norm of each residual branch, normal token embedding.
        Assert.Equal(0, w["transformer.resblocks.0.attn.in_proj_bias"].abs().max().item<float>());
        Assert.Equal(0, w["visual.layer1.0.bn3.weight"].abs().max().item<float>());
        double std = w["token_embedding.weight"].std().item<float>();
        Assert.InRange(std, 0.015, 0.025);
    }
}
