using TorchSharp;
using static TorchSharp.torch;

namespace SemiClip.Runtime;

/// <summary>Turns the CLI's <c>--device auto|cpu|cuda[:N]</c> into a TorchSharp device.</summary>
public static class DeviceSelector
{
    public static Device Parse(string spec)
    {
        var s = (spec ?? "auto").Trim().ToLowerInvariant();
        if (s == "auto")
            return cuda.is_available() ? CUDA : CPU;
        if (s == "cpu")
            return CPU;
        if (s == "cuda" || s.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (s.Length > 4 && !int.TryParse(s.AsSpan(5), out index))
                throw new ArgumentException($"device: '{spec}' is not cuda:N with N a GPU index.");
            if (!cuda.is_available())
                throw new ArgumentException(
                    $"device {spec}: CUDA is not available in this build or machine "
                        + "(the default build is CPU-only; see README, 'GPU build')."
                );
            if (index >= cuda.device_count())
                throw new ArgumentException($"device {spec}: only {cuda.device_count()} CUDA device(s) present.");
            return new Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"device: '{spec}' is not one of auto, cpu, cuda, cuda:N.");
    }
}
