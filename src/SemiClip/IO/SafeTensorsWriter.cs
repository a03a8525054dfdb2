using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace SemiClip.IO;

/// <summary>Writes safetensors files. The file is written beside its destination under a temporary
/// name and renamed into place, so a crash never leaves a half-written checkpoint under the real name.</summary>
public static class SafeTensorsWriter
{
    public static void Write(
        string path,
        IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null
    )
    {
        var list = tensors.ToList();
        var dupes = list.GroupBy(t => t.Key).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (dupes.Count > 0)
            throw new ArgumentException($"{path}: tensor names repeated: {string.Join(", ", dupes)}");

        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 })
            header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var (name, t) in list)
        {
            long bytes = t.NumberOfElements * t.ElementSize;
            header[name] = new
            {
                dtype = SafeTensorsDType.NameOf(t.dtype),
                shape = t.shape,
                data_offsets = new[] { offset, offset + bytes },
            };
            offset += bytes;
        }
        var headerBytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int pad = (8 - headerBytes.Length % 8) % 8; // keeps tensor data 8-byte aligned, as the reference writer does
        var padded = new byte[headerBytes.Length + pad];
        headerBytes.CopyTo(padded, 0);
        for (int i = headerBytes.Length; i < padded.Length; i++)
            padded[i] = (byte)' ';

        AtomicFile.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BitConverter.TryWriteBytes(len, (ulong)padded.Length);
            if (!BitConverter.IsLittleEndian)
                len.Reverse();
            stream.Write(len);
            stream.Write(padded);
            foreach (var (_, t) in list)
            {
                using var cpu = t.detach().cpu().contiguous();
                stream.Write(cpu.bytes);
            }
        });
    }
}
