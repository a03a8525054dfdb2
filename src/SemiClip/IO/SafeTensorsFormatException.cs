namespace SemiClip.IO;

/// <summary>A safetensors file that cannot be read; the message names the file and, where one is
/// at fault, the tensor.</summary>
public sealed class SafeTensorsFormatException(string path, string? tensor, string problem)
    : Exception(tensor == null ? $"{path}: {problem}" : $"{path}: tensor '{tensor}': {problem}")
{
    public string FilePath { get; } = path;
    public string? Tensor { get; } = tensor;
}
