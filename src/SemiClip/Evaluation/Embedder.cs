using SemiClip.Data;
using SemiClip.Data.Images;
using SemiClip.Model;
using SemiClip.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace SemiClip.Evaluation;

/// <summary>Batched, no-grad encoding of image files and texts into L2-normalised features (CPU float32
/// results). Images use the evaluation transform and are decoded ahead on worker threads; each batch
/// runs in its own dispose scope.</summary>
public sealed class Embedder(ClipModel model, ClipTokenizer tokenizer, Device device, int batchSize = 256, int workers = 2)
{
    public ClipModel Model { get; } = model;

    public Tensor EncodeImages(IReadOnlyList<string> paths, BadInputReport? report = null, Action<int>? progress = null)
    {
        var prep = new ImagePreprocessor(Model.Config.Vision.ImageSize);
        int floats = prep.FloatsPerImage;
        var dtype = Model.LogitScaleParameter.dtype;
        var batches = Enumerable.Range(0, (paths.Count + batchSize - 1) / batchSize).Select(i => (long)i);
        using var batcher = new PrefetchingBatcher<(float[] Data, int Count)>(batches, b =>
        {
            int start = (int)b * batchSize, count = Math.Min(batchSize, paths.Count - start);
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
                    report.Report(path, e.Message); // skipped: its features stay those of a blank (zero) image
                }
            });
            return (data, count);
        }, prefetch: 2);
        var outputs = new List<Tensor>();
        Model.eval();
        int done = 0;
        foreach (var (data, count) in batcher.Read())
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var images = tensor(data, new long[] { count, 3, prep.ImageSize, prep.ImageSize }).to(device).to(dtype);
            outputs.Add(nn.functional.normalize(Model.EncodeImage(images).to(float32), dim: -1).cpu().MoveToOuterDisposeScope());
            done += count;
            progress?.Invoke(done);
        }
        return Concat(outputs);
    }

    public Tensor EncodeTexts(IReadOnlyList<string> texts)
    {
        var outputs = new List<Tensor>();
        Model.eval();
        for (int start = 0; start < texts.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var chunk = texts.Skip(start).Take(batchSize).ToList();
            var tokens = tokenizer.Tokenize(chunk, Model.Config.Text.ContextLength).to(device);
            outputs.Add(nn.functional.normalize(Model.EncodeText(tokens).to(float32), dim: -1).cpu().MoveToOuterDisposeScope());
        }
        return Concat(outputs);
    }

    static Tensor Concat(List<Tensor> parts)
    {
        if (parts.Count == 0) return zeros(0, 0);
        var all = cat(parts.ToArray(), 0);
        foreach (var p in parts) p.Dispose();
        return all;
    }
}
