using System.Security.Cryptography;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>A short hash of what decides a model's embeddings: every weight, in name order, and the image
/// preprocessing (input size and normalisation). An index records it, so a search with another model (whose
/// embeddings live in a different space and would rank silently wrong) is refused.</summary>
public static class ModelFingerprint
{
    public static string Of(ClipModel model)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(
            System.Text.Encoding.UTF8.GetBytes(
                $"{model.Config.Preprocess.ToJson().ToJsonString()};size={model.Config.Vision.ImageSize}\n"
            )
        );
        foreach (var (name, tensor) in model.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
                continue;
            using var scope = NewDisposeScope();
            var cpu = tensor.detach().to(float32).cpu().contiguous();
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            hash.AppendData(cpu.bytes);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }
}
