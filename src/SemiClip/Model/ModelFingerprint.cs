using System.Security.Cryptography;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>A short hash of what decides a model's embeddings: every weight, in name order, and the image
/// preprocessing (input size and normalisation). An index records it, so a search with another model (whose
/// embeddings live in a different space and would rank silently wrong) is refused.</summary>
public static class ModelFingerprint
{
    /// <summary>How every SemiClip model prepares images today (OpenAI's statistics, shortest-side resize, centre crop).</summary>
    const string Preprocessing = "mean=0.48145466,0.4578275,0.40821073;std=0.26862954,0.26130258,0.27577711;resize=shortest;crop=center";

    public static string Of(ClipModel model)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes($"{Preprocessing};size={model.Config.Vision.ImageSize}\n"));
        foreach (var (name, tensor) in model.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
            using var scope = NewDisposeScope();
            var cpu = tensor.detach().to(float32).cpu().contiguous();
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            hash.AppendData(cpu.bytes);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }
}
