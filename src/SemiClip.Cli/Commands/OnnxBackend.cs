extern alias onnx;
using System.CommandLine;
using SemiClip.Data;
using SemiClip.Evaluation;
using static TorchSharp.torch;
using OnnxClip = onnx::SemiClip.Onnx.OnnxClip;

namespace SemiClip.Cli.Commands;

/// <summary><c>--backend onnx</c>: embed, search and evaluate with an exported folder in ONNX Runtime instead of
/// TorchSharp, through the same evaluation code (features come back as tensors).</summary>
public sealed class OnnxBackend(OnnxClip clip, int batchSize) : IEmbedder, IDisposable
{
    public const string FingerprintFile = "semiclip_model.json";

    public static Option<string> Option() =>
        new Option<string>("--backend")
        {
            Description =
                "torch (the model through TorchSharp) | onnx (--model is a folder from semiclip export --format onnx "
                + "or hf)",
            DefaultValueFactory = _ => "torch",
        }.OneOf("torch", "onnx");

    public static OnnxBackend Load(string folder, int batchSize)
    {
        if (!Directory.Exists(folder))
            throw new ArgumentException(
                $"--model {folder}: with --backend onnx, give the folder semiclip export wrote."
            );
        return new OnnxBackend(OnnxClip.Load(folder), batchSize) { Fingerprint = ReadFingerprint(folder) };
    }

    /// <summary>The exported model's fingerprint (the same as the model it was exported from), so indexes match across
    /// backends.</summary>
    public string? Fingerprint { get; init; }

    static string? ReadFingerprint(string folder)
    {
        var path = Path.Combine(folder, FingerprintFile);
        return File.Exists(path)
            ? System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))?["fingerprint"]?.GetValue<string>()
            : null;
    }

    public (Tensor Features, int[] Kept) Readable(
        IReadOnlyList<string> paths,
        BadInputReport? report,
        Action<int>? progress = null
    )
    {
        var rows = new List<float[]>();
        var kept = new List<int>();
        for (int start = 0; start < paths.Count; start += batchSize)
        {
            var chunk = paths.Skip(start).Take(batchSize).ToList();
            var embedded = clip.EmbedImages(chunk, report is null ? null : (path, e) => report.Report(path, e.Message));
            for (int i = 0; i < chunk.Count; i++)
                if (embedded[i] is { } row)
                {
                    rows.Add(row);
                    kept.Add(start + i);
                }
            progress?.Invoke(Math.Min(paths.Count, start + batchSize));
        }
        return (Stack(rows), kept.ToArray());
    }

    public Tensor EncodeTexts(IReadOnlyList<string> texts)
    {
        var rows = new List<float[]>();
        for (int start = 0; start < texts.Count; start += batchSize)
            rows.AddRange(clip.EmbedTexts(texts.Skip(start).Take(batchSize).ToList()));
        return Stack(rows);
    }

    static Tensor Stack(List<float[]> rows)
    {
        int d = rows.Count == 0 ? 0 : rows[0].Length;
        var flat = new float[rows.Count * d];
        for (int i = 0; i < rows.Count; i++)
            rows[i].CopyTo(flat, i * d);
        return tensor(flat, [rows.Count, d]);
    }

    public void Dispose() => clip.Dispose();
}

/// <summary>A model to encode with, on the backend the user chose: its embedder, its fingerprint (recorded in indexes)
/// and what must be disposed.</summary>
public sealed class ModelEncoder : IDisposable
{
    readonly IDisposable _owner;
    public IEmbedder Embedder { get; }
    public string Fingerprint { get; }

    /// <summary>The TorchSharp model, for the commands that need more than embeddings; null on the onnx
    /// backend.</summary>
    public Model.ModelBundle? Bundle { get; }

    ModelEncoder(IEmbedder embedder, string fingerprint, IDisposable owner, Model.ModelBundle? bundle) =>
        (Embedder, Fingerprint, _owner, Bundle) = (embedder, fingerprint, owner, bundle);

    public static ModelEncoder Open(
        string model,
        string? vocab,
        string activation,
        string backend,
        Device device,
        int batchSize
    )
    {
        if (backend == "onnx")
        {
            var onnxBackend = OnnxBackend.Load(model, batchSize);
            // An export without a fingerprint file (hand-made) is known by its path only: its indexes match nothing
            // else.
            return new ModelEncoder(
                onnxBackend,
                onnxBackend.Fingerprint ?? $"onnx:{Path.GetFullPath(model)}",
                onnxBackend,
                null
            );
        }
        var bundle = CommonOptions.LoadModel(model, vocab, activation);
        var embedder = new Embedder(bundle.Model, bundle.Tokenizer, device, batchSize);
        return new ModelEncoder(embedder, Model.ModelFingerprint.Of(bundle.Model), bundle, bundle);
    }

    public void Dispose() => _owner.Dispose();
}
