using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SemiClip.Data.Images;
using SemiClip.Tokenization;

namespace SemiClip.Onnx;

/// <summary>A CLIP model from a folder <c>semiclip export --format onnx</c> (or <c>hf</c>, whose onnx/ it reads) wrote:
/// text and image embeddings with ONNX Runtime, SemiClip's tokenizer and the model's recorded image preprocessing.
/// Embeddings are L2-normalised, so a dot product is the cosine similarity CLIP ranks by.</summary>
public sealed class OnnxClip : IDisposable
{
    readonly InferenceSession _text,
        _vision;

    /// <summary>The export's tokenizer as ids [B, context], zero-padded: CLIP's BPE (vocab.json + merges.txt) or
    /// BERT's WordPiece (vocab.txt), as the folder holds.</summary>
    public Func<IReadOnlyList<string>, int, long[,]> Tokenize { get; }
    public ImagePreprocessor Images { get; }
    public int ContextLength { get; }
    public int ImageSize { get; }

    OnnxClip(
        InferenceSession text,
        InferenceSession vision,
        Func<IReadOnlyList<string>, int, long[,]> tokenize,
        ImagePreprocessing preprocessing,
        int context,
        int size
    )
    {
        (_text, _vision, Tokenize, ContextLength, ImageSize) = (text, vision, tokenize, context, size);
        Images = new ImagePreprocessor(size, preprocessing);
    }

    /// <param name="options">ONNX Runtime session options (threads, the CUDA execution provider); default: CPU.</param>
    public static OnnxClip Load(string folder, SessionOptions? options = null)
    {
        string Find(string name)
        {
            foreach (var candidate in new[] { Path.Combine(folder, name), Path.Combine(folder, "onnx", name) })
                if (File.Exists(candidate))
                    return candidate;
            throw new FileNotFoundException(
                $"{folder}: no {name} (a folder from semiclip export --format onnx or hf).",
                name
            );
        }
        var processor = JsonNode.Parse(File.ReadAllText(Find("preprocessor_config.json")))!;
        var tokenizerConfig = JsonNode.Parse(File.ReadAllText(Find("tokenizer_config.json")));
        int context = tokenizerConfig?["model_max_length"]?.GetValue<int>() ?? 77;
        Func<IReadOnlyList<string>, int, long[,]> tokenize;
        if (tokenizerConfig?["tokenizer_class"]?.GetValue<string>() == "BertTokenizer")
        {
            var lowercase = tokenizerConfig["do_lower_case"]?.GetValue<bool>() ?? true;
            tokenize = WordPieceTokenizer.FromVocabFile(Find("vocab.txt"), lowercase).TokenizeToArray;
        }
        else
            tokenize = ClipTokenizer.FromHuggingFace(Find("vocab.json"), Find("merges.txt")).TokenizeToArray;
        var text = new InferenceSession(Find("text_model.onnx"), options ?? new SessionOptions());
        var vision = new InferenceSession(Find("vision_model.onnx"), options ?? new SessionOptions());
        int size = vision.InputMetadata["pixel_values"].Dimensions[^1];
        return new OnnxClip(text, vision, tokenize, Preprocessing(processor), context, size);
    }

    /// <summary>The image pipeline a preprocessor_config.json describes (SemiClip's own keys first, HF's
    /// otherwise).</summary>
    static ImagePreprocessing Preprocessing(JsonNode p)
    {
        (double, double, double) Triple(string key, (double, double, double) fallback) =>
            p[key] is JsonArray { Count: 3 } a
                ? (a[0]!.GetValue<double>(), a[1]!.GetValue<double>(), a[2]!.GetValue<double>())
                : fallback;
        var defaults = new ImagePreprocessing();
        return defaults with
        {
            Mean = Triple("image_mean", defaults.Mean),
            Std = Triple("image_std", defaults.Std),
            Interpolation = p["resample"]?.GetValue<int>() switch
            {
                0 => "nearest",
                2 => "bilinear",
                _ => "bicubic",
            },
            ResizeMode = p["semiclip_resize_mode"]?.GetValue<string>()
                ?? (p["do_center_crop"]?.GetValue<bool>() == false ? "squash" : "shortest"),
            Mode = p["semiclip_mode"]?.GetValue<string>() ?? "RGB",
            FillColor = p["semiclip_fill_color"]?.GetValue<int>() ?? 0,
        };
    }

    /// <summary>One normalised embedding per text.</summary>
    public float[][] EmbedTexts(IReadOnlyList<string> texts)
    {
        var ids = Tokenize(texts, ContextLength);
        var input = new DenseTensor<long>(ids.Cast<long>().ToArray(), [texts.Count, ContextLength]);
        using var results = _text.Run([NamedOnnxValue.CreateFromTensor("input_ids", input)]);
        return Rows(results.Single(r => r.Name == "text_embeds").AsTensor<float>());
    }

    /// <summary>One normalised embedding per image file. An image that cannot be read throws, naming it; with
    /// <paramref name="unreadable"/> it is passed there instead and its row is null.</summary>
    public float[]?[] EmbedImages(IReadOnlyList<string> paths, Action<string, Exception>? unreadable = null)
    {
        int floats = Images.FloatsPerImage;
        var pixels = new float[paths.Count * floats];
        var ok = new bool[paths.Count];
        Parallel.For(0, paths.Count, i =>
        {
            try
            {
                using var bitmap = ImageDecoder.Decode(paths[i]);
                Images.Eval(bitmap, pixels.AsSpan(i * floats, floats));
                ok[i] = true;
            }
            catch (Exception e) when (unreadable != null && e is InvalidDataException or IOException)
            {
                lock (ok)
                    unreadable(paths[i], e);
            }
        });
        var readable = Enumerable.Range(0, paths.Count).Where(i => ok[i]).ToArray();
        var result = new float[]?[paths.Count];
        if (readable.Length == 0)
            return result;
        var batch =
            readable.Length == paths.Count
                ? pixels
                : readable.SelectMany(i => pixels.AsSpan(i * floats, floats).ToArray()).ToArray();
        var input = new DenseTensor<float>(batch, [readable.Length, 3, ImageSize, ImageSize]);
        using var results = _vision.Run([NamedOnnxValue.CreateFromTensor("pixel_values", input)]);
        var rows = Rows(results.Single(r => r.Name == "image_embeds").AsTensor<float>());
        for (int k = 0; k < readable.Length; k++)
            result[readable[k]] = rows[k];
        return result;
    }

    static float[][] Rows(Tensor<float> t)
    {
        int n = t.Dimensions[0],
            d = t.Dimensions[1];
        var all = t.ToArray();
        return Enumerable
            .Range(0, n)
            .Select(i =>
            {
                var row = all.AsSpan(i * d, d).ToArray();
                float norm = MathF.Sqrt(row.Sum(v => v * v));
                for (int j = 0; j < d; j++)
                    row[j] /= norm;
                return row;
            })
            .ToArray();
    }

    public static float Cosine(float[] a, float[] b)
    {
        float s = 0;
        for (int i = 0; i < a.Length; i++)
            s += a[i] * b[i];
        return s;
    }

    public void Dispose()
    {
        _text.Dispose();
        _vision.Dispose();
    }
}
