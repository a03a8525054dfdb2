using System.Text.Json;
using SemiClip.IO;
using static TorchSharp.torch;

namespace SemiClip.Evaluation;

/// <summary>An image index written by <c>semiclip embed --images</c>: embeddings in safetensors, ids in the JSONL
/// beside it, and the fingerprint of the model that made it, since another model's embeddings live in another space.
/// Read by <c>search</c> and <c>serve</c>.</summary>
public sealed class ImageIndexFile : IDisposable
{
    /// <summary>Index metadata: <see cref="Model.ModelFingerprint"/> of the model that made it.</summary>
    public const string ModelHashKey = "semiclip.model_hash";

    readonly Dictionary<string, int> _rowOfPath;
    public Tensor Embeddings { get; }

    /// <summary>The image of each row, as <c>embed</c> wrote it.</summary>
    public IReadOnlyList<string> Ids { get; }

    ImageIndexFile(Tensor embeddings, List<string> ids)
    {
        (Embeddings, Ids) = (embeddings, ids);
        _rowOfPath = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < ids.Count; i++)
            _rowOfPath[Path.GetFullPath(ids[i])] = i;
    }

    /// <summary>Refuses an index another model made unless <paramref name="allowOtherModel"/>;
    /// <paramref name="overrideHint"/> says how the caller lets one through (", or pass --allow-other-model").
    /// </summary>
    public static ImageIndexFile Read(
        string path,
        string modelFingerprint,
        bool allowOtherModel = false,
        string overrideHint = ""
    )
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"--index {path}: file not found.", path);
        using var reader = new SafeTensorsReader(path);
        if (!reader.Contains("embeddings"))
            throw new InvalidDataException($"--index {path}: not an index from semiclip embed.");
        reader.Metadata.TryGetValue("semiclip.kind", out var kind);
        if (kind == "text")
            throw new ArgumentException($"--index {path}: holds text embeddings; images are ranked (embed --images).");
        reader.Metadata.TryGetValue(ModelHashKey, out var made);
        if (made != modelFingerprint && !allowOtherModel)
            throw new ArgumentException(
                $"--index {path}: made by "
                    + (
                        made is null
                            ? "an unrecorded model (an index from an older SemiClip)"
                            : $"another model (fingerprint {made}, --model has {modelFingerprint})"
                    )
                    + $"; its rankings would be wrong. Embed the images again with this --model{overrideHint}."
            );
        var idsFile = Path.ChangeExtension(path, ".jsonl");
        if (!File.Exists(idsFile))
            throw new FileNotFoundException($"--index {path}: its ids file {idsFile} is missing.", idsFile);
        var ids = new List<string>();
        int line = 0;
        foreach (var text in File.ReadLines(idsFile))
        {
            line++;
            if (text.Trim().Length == 0)
                continue;
            ids.Add(
                JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()
                    ?? throw new InvalidDataException($"{idsFile}:{line}: no id.")
            );
        }
        if (ids.Count == 0)
            throw new InvalidDataException(
                $"--index {path}: the index is empty (made from no images); embed a folder that holds images."
            );
        var embeddings = reader.Read("embeddings").to(float32);
        if (embeddings.shape[0] != ids.Count)
            throw new InvalidDataException(
                $"--index {path}: {embeddings.shape[0]} embeddings but {ids.Count} ids in {idsFile}."
            );
        return new ImageIndexFile(embeddings, ids);
    }

    public int? RowOf(string fullPath) => _rowOfPath.TryGetValue(fullPath, out var r) ? r : null;

    public void Dispose() => Embeddings.Dispose();
}
