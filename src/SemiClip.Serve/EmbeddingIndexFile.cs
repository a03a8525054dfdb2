using System.Text.Json;
using SemiClip.IO;
using static TorchSharp.torch;

namespace SemiClip.Serve;

/// <summary>An index written by <c>semiclip embed --images</c> (embeddings in safetensors, ids in the JSONL beside
/// it), refused when another model made it: its embeddings live in another space.</summary>
public sealed class EmbeddingIndexFile : IDisposable
{
    readonly Dictionary<string, int> _rowOfPath;
    public Tensor Embeddings { get; }

    EmbeddingIndexFile(Tensor embeddings, Dictionary<string, int> rows) =>
        (Embeddings, _rowOfPath) = (embeddings, rows);

    public static EmbeddingIndexFile Read(string path, string modelFingerprint)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"--index {path}: file not found.", path);
        using var reader = new SafeTensorsReader(path);
        if (!reader.Contains("embeddings"))
            throw new InvalidDataException($"--index {path}: not an index from semiclip embed.");
        reader.Metadata.TryGetValue("semiclip.kind", out var kind);
        if (kind == "text")
            throw new ArgumentException(
                $"--index {path}: holds text embeddings; serve needs image embeddings (embed --images)."
            );
        reader.Metadata.TryGetValue("semiclip.model_hash", out var made);
        if (made != modelFingerprint)
            throw new ArgumentException(
                $"--index {path}: made by {(made is null ? "an unrecorded model" : $"another model ({made})")}, "
                    + $"not --model ({modelFingerprint}); embed the images again with this model, or leave --index out."
            );
        var ids = Path.ChangeExtension(path, ".jsonl");
        if (!File.Exists(ids))
            throw new FileNotFoundException($"--index {path}: its ids file {ids} is missing.", ids);
        var rows = new Dictionary<string, int>(StringComparer.Ordinal);
        int line = 0;
        foreach (var text in File.ReadLines(ids))
        {
            line++;
            if (text.Trim().Length == 0)
                continue;
            var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()
                ?? throw new InvalidDataException($"{ids}:{line}: no id.");
            rows[Path.GetFullPath(id)] = rows.Count;
        }
        var embeddings = reader.Read("embeddings").to(float32);
        if (embeddings.shape[0] != rows.Count)
            throw new InvalidDataException(
                $"--index {path}: {embeddings.shape[0]} embeddings but {rows.Count} ids in {ids}."
            );
        return new EmbeddingIndexFile(embeddings, rows);
    }

    public int? RowOf(string fullPath) => _rowOfPath.TryGetValue(fullPath, out var r) ? r : null;

    public void Dispose() => Embeddings.Dispose();
}
