using System.IO.MemoryMappedFiles;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace SemiClip.IO;

/// <summary>One entry of a safetensors header.</summary>
public sealed record SafeTensorInfo(
    string Name,
    string DType,
    ScalarType ScalarType,
    long[] Shape,
    long Begin,
    long End
);

/// <summary>Reads a safetensors file through a memory map, so a large checkpoint is paged in tensor by
/// tensor instead of being copied whole into memory. The header is validated completely on open.</summary>
public sealed class SafeTensorsReader : IDisposable
{
    readonly MemoryMappedFile _map;
    readonly MemoryMappedViewAccessor _view;
    readonly long _dataStart;
    readonly Dictionary<string, SafeTensorInfo> _tensors;

    public string Path { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyCollection<string> Names => _tensors.Keys;
    public IEnumerable<SafeTensorInfo> Tensors => _tensors.Values;

    public SafeTensorsReader(string path)
    {
        Path = path;
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: no such safetensors file.", path);
        long length = new FileInfo(path).Length;
        if (length < 8)
            throw new SafeTensorsFormatException(
                path,
                null,
                $"truncated: {length} bytes, fewer than the 8-byte header length."
            );
        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        try
        {
            ulong headerLength = _view.ReadUInt64(0);
            if (headerLength > (ulong)(length - 8))
                throw new SafeTensorsFormatException(
                    path,
                    null,
                    headerLength > 100_000_000 || length < 10 || _view.ReadByte(8) != (byte)'{'
                        ? "not a safetensors file (it does not begin with a safetensors header: give a .safetensors "
                            + "weights file)."
                        : $"truncated: header length {headerLength} runs past the end of the file ({length} bytes)."
                );
            var header = new byte[headerLength];
            _view.ReadArray(8, header, 0, header.Length);
            _dataStart = 8 + (long)headerLength;
            (_tensors, Metadata) = ParseHeader(path, header, length - _dataStart);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public SafeTensorInfo Info(string name) =>
        _tensors.TryGetValue(name, out var info)
            ? info
            : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'.");

    /// <summary>Copies one tensor into a new CPU tensor.</summary>
    public Tensor Read(string name)
    {
        var info = Info(name);
        var t = empty(info.Shape, info.ScalarType);
        long count = info.End - info.Begin;
        if (count == 0)
            return t;
        unsafe
        {
            byte* basePtr = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
            try
            {
                var src = new ReadOnlySpan<byte>(
                    basePtr + _view.PointerOffset + _dataStart + info.Begin,
                    checked((int)count)
                );
                src.CopyTo(t.bytes);
            }
            finally
            {
                _view.SafeMemoryMappedViewHandle.ReleasePointer();
            }
        }
        return t;
    }

    static (Dictionary<string, SafeTensorInfo>, Dictionary<string, string>) ParseHeader(
        string path,
        byte[] header,
        long dataLength
    )
    {
        string json;
        try
        {
            json = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(header);
        }
        catch (DecoderFallbackException e)
        {
            throw new SafeTensorsFormatException(path, null, $"header is not valid UTF-8 ({e.Message}).");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.TrimEnd(' '));
        }
        catch (JsonException e)
        {
            throw new SafeTensorsFormatException(path, null, $"header is not valid JSON: {JsonErrors.Problem(e)}.");
        }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new SafeTensorsFormatException(path, null, "header is not a JSON object.");

        var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                if (prop.Value.ValueKind != JsonValueKind.Object)
                    throw new SafeTensorsFormatException(path, null, "__metadata__ is not an object of strings.");
                foreach (var m in prop.Value.EnumerateObject())
                    metadata[m.Name] =
                        m.Value.ValueKind == JsonValueKind.String
                            ? m.Value.GetString()!
                            : throw new SafeTensorsFormatException(
                                path,
                                null,
                                $"__metadata__ entry '{m.Name}' is not a string."
                            );
                continue;
            }
            if (tensors.ContainsKey(prop.Name))
                throw new SafeTensorsFormatException(path, prop.Name, "appears twice in the header.");
            tensors[prop.Name] = ParseEntry(path, prop.Name, prop.Value);
        }

        // Offsets must tile the data section exactly: no overlap, no gap, nothing past the end.
        long expected = 0;
        foreach (var t in tensors.Values.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (t.Begin < expected)
                throw new SafeTensorsFormatException(
                    path,
                    t.Name,
                    $"data_offsets [{t.Begin}, {t.End}] overlap the previous tensor, which ends at {expected}."
                );
            if (t.Begin > expected)
                throw new SafeTensorsFormatException(
                    path,
                    t.Name,
                    $"data_offsets start at {t.Begin}, leaving a gap after byte {expected}."
                );
            if (t.End > dataLength)
                throw new SafeTensorsFormatException(
                    path,
                    t.Name,
                    $"data_offsets end at {t.End}, past the end of the data ({dataLength} bytes): the file is "
                        + $"truncated."
                );
            expected = t.End;
        }
        if (expected != dataLength)
            throw new SafeTensorsFormatException(
                path,
                null,
                $"{dataLength - expected} bytes after the last tensor are not described by the header."
            );
        return (tensors, metadata);
    }

    static SafeTensorInfo ParseEntry(string path, string name, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw new SafeTensorsFormatException(path, name, "entry is not an object.");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new SafeTensorsFormatException(path, name, "missing string field 'dtype'.");
        var dtype = dt.GetString()!;
        if (!SafeTensorsDType.TryParse(dtype, out var scalarType, out int elementSize))
            throw new SafeTensorsFormatException(path, name, $"unknown dtype '{dtype}'.");
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new SafeTensorsFormatException(path, name, "missing array field 'shape'.");
        var shape = sh.EnumerateArray()
            .Select(d =>
                d.TryGetInt64(out var v) && v >= 0
                    ? v
                    : throw new SafeTensorsFormatException(
                        path,
                        name,
                        $"shape entry {d} is not a non-negative integer."
                    )
            )
            .ToArray();
        if (
            !e.TryGetProperty("data_offsets", out var off)
            || off.ValueKind != JsonValueKind.Array
            || off.GetArrayLength() != 2
            || !off[0].TryGetInt64(out var begin)
            || !off[1].TryGetInt64(out var end)
            || begin < 0
            || end < begin
        )
            throw new SafeTensorsFormatException(
                path,
                name,
                "'data_offsets' must be [begin, end] with 0 <= begin <= end."
            );
        long bytes = shape.Aggregate(1L, (a, d) => checked(a * d)) * elementSize;
        if (bytes != end - begin)
            throw new SafeTensorsFormatException(
                path,
                name,
                $"shape [{string.Join(", ", shape)}] of {dtype} needs {bytes} bytes but data_offsets span "
                    + $"{end - begin}."
            );
        return new SafeTensorInfo(name, dtype, scalarType, shape, begin, end);
    }

    public void Dispose()
    {
        _view?.Dispose();
        _map?.Dispose();
    }
}
