using SemiClip.Data;
using SemiClip.Data.Images;
using SemiClip.Model;
using SemiClip.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace SemiClip.Evaluation;

/// <summary>Batched, no-grad encoding of image files and texts into L2-normalised features (CPU float32
/// results). Images use the evaluation transform and are decoded ahead on worker threads; each batch
/// runs in its own dispose scope. A batch whose encoding fails inside LibTorch is encoded once more
/// (reported through <see cref="Warn"/>), so one transient native error does not end an evaluation.</summary>
public sealed class Embedder(
    ClipModel model,
    ITextTokenizer tokenizer,
    Device device,
    int batchSize = 256,
    int workers = 2
) : IEmbedder
{
    public ClipModel Model { get; } = model;

    /// <summary>Where retried batches are reported (default: standard error).</summary>
    public Action<string> Warn { get; init; } = message => Console.Error.WriteLine(message);

    /// <summary>Called before each batch is encoded, with the batch's kind and index; lets tests inject a
    /// native failure and lets callers trace progress.</summary>
    public Action<string, int>? BeforeBatch { get; init; }

    /// <summary>L2-normalised image features, one row per path. With a skipping <paramref name="report"/>, an
    /// unreadable image is reported, its row is a blank image's, and its index is added to <paramref
    /// name="unreadable"/> so callers can leave it out (see <see cref="Readable"/>).</summary>
    public Tensor EncodeImages(
        IReadOnlyList<string> paths,
        BadInputReport? report = null,
        Action<int>? progress = null,
        System.Collections.Concurrent.ConcurrentBag<int>? unreadable = null
    )
    {
        var prep = new ImagePreprocessor(Model.Config.Vision.ImageSize, Model.Config.Preprocess);
        int floats = prep.FloatsPerImage;
        var batches = Enumerable.Range(0, (paths.Count + batchSize - 1) / batchSize).Select(i => (long)i);
        using var batcher = new PrefetchingBatcher<(float[] Data, int Count)>(
            batches,
            b =>
            {
                int start = (int)b * batchSize,
                    count = Math.Min(batchSize, paths.Count - start);
                var data = new float[count * floats];
                Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = workers }, i =>
                {
                    var path = paths[start + i];
                    try
                    {
                        using var bmp = ImageDecoder.Decode(path);
                        prep.Eval(bmp, data.AsSpan(i * floats, floats));
                    }
                    catch (Exception e) when (report != null && e is InvalidDataException or IOException)
                    {
                        // its features stay those of a blank image until the caller drops it
                        report.Report(path, e.Message);
                        unreadable?.Add(start + i);
                    }
                });
                return (data, count);
            },
            prefetch: 2
        );
        var outputs = new List<Tensor>();
        Model.eval();
        int done = 0,
            index = 0;
        foreach (var (data, count) in batcher.Read())
        {
            int batch = index++;
            outputs.Add(
                Runtime.NativeFailure.RetryOnce(
                    () =>
                    {
                        BeforeBatch?.Invoke("images", batch);
                        return EncodePixels(data, count, prep.ImageSize);
                    },
                    Warn,
                    $"image batch {batch}"
                )
            );
            done += count;
            progress?.Invoke(done);
        }
        return Concat(outputs);
    }

    /// <summary>The features of the readable images only, with the indices (into <paramref name="paths"/>) they belong
    /// to.</summary>
    public (Tensor Features, int[] Kept) Readable(
        IReadOnlyList<string> paths,
        BadInputReport? report,
        Action<int>? progress = null
    )
    {
        var unreadable = new System.Collections.Concurrent.ConcurrentBag<int>();
        var features = EncodeImages(paths, report, progress, unreadable);
        if (unreadable.IsEmpty)
            return (features, Enumerable.Range(0, paths.Count).ToArray());
        var bad = unreadable.ToHashSet();
        var kept = Enumerable.Range(0, paths.Count).Where(i => !bad.Contains(i)).ToArray();
        using var index = tensor(kept.Select(i => (long)i).ToArray());
        var result = features.index_select(0, index);
        features.Dispose();
        return (result, kept);
    }

    /// <summary>The L2-normalised features (1 × D, CPU float32) of one decoded image, with the evaluation
    /// transform.</summary>
    public Tensor EncodeBitmap(SkiaSharp.SKBitmap bitmap)
    {
        var prep = new ImagePreprocessor(Model.Config.Vision.ImageSize, Model.Config.Preprocess);
        var data = new float[prep.FloatsPerImage];
        prep.Eval(bitmap, data);
        Model.eval();
        return EncodePixels(data, 1, prep.ImageSize);
    }

    /// <summary>Normalised features of <paramref name="count"/> preprocessed images (CPU float32).</summary>
    Tensor EncodePixels(float[] data, int count, int imageSize)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var images = tensor(data, new long[] { count, 3, imageSize, imageSize })
            .to(device)
            .to(Model.LogitScaleParameter.dtype);
        return nn.functional.normalize(Model.EncodeImage(images).to(float32), dim: -1).cpu().MoveToOuterDisposeScope();
    }

    public Tensor EncodeTexts(IReadOnlyList<string> texts)
    {
        var outputs = new List<Tensor>();
        Model.eval();
        for (int start = 0, batch = 0; start < texts.Count; start += batchSize, batch++)
        {
            var chunk = texts.Skip(start).Take(batchSize).ToList();
            int index = batch;
            outputs.Add(
                Runtime.NativeFailure.RetryOnce(
                    () =>
                    {
                        BeforeBatch?.Invoke("texts", index);
                        using var scope = NewDisposeScope();
                        using var _ = no_grad();
                        var tokens = tokenizer.Tokenize(chunk, Model.Config.Text.ContextLength);
                        // Padding changes no text's features (CLIP's tower is causal, a BERT tower masks it), so
                        // cutting the batch after its longest text gives the same features for a fraction of the work
                        // (a search query).
                        long used = Model.TokensUsed(tokens);
                        tokens = tokens.narrow(1, 0, used).to(device);
                        return nn
                            .functional.normalize(Model.EncodeText(tokens).to(float32), dim: -1)
                            .cpu()
                            .MoveToOuterDisposeScope();
                    },
                    Warn,
                    $"text batch {index}"
                )
            );
        }
        return Concat(outputs);
    }

    static Tensor Concat(List<Tensor> parts)
    {
        if (parts.Count == 0)
            return zeros(0, 0);
        var all = cat(parts.ToArray(), 0);
        foreach (var p in parts)
            p.Dispose();
        return all;
    }
}

/// <summary>What evaluation needs of a model: normalised features of the images that could be read, and of texts.
/// SemiClip's <see cref="Embedder"/> computes them with TorchSharp; the CLI's ONNX backend with ONNX Runtime.</summary>
public interface IEmbedder
{
    /// <summary>Features [kept, dim] of the readable images (unreadable ones reported and left out) and their
    /// indices.</summary>
    (Tensor Features, int[] Kept) Readable(
        IReadOnlyList<string> paths,
        BadInputReport? report,
        Action<int>? progress = null
    );

    /// <summary>Features [texts, dim].</summary>
    Tensor EncodeTexts(IReadOnlyList<string> texts);
}
