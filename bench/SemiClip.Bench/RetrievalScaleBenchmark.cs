using System.Diagnostics;
using System.Globalization;
using SemiClip.Evaluation;
using static TorchSharp.torch;

namespace SemiClip.Bench;

/// <summary><c>bench retrieval-scale</c>: tiled retrieval scoring of random unit embeddings (5 captions per image by
/// default), time and peak resident memory (VmHWM, which covers native allocations), beside what the full float64
/// image × caption matrix the old scoring built would need.</summary>
public static class RetrievalScaleBenchmark
{
    public static int Run(string[] args)
    {
        var sizes = BenchReport
            .Option(args, "--sizes", "10000x50000,100000x500000")
            .Split(',')
            .Select(s => s.Split('x').Select(long.Parse).ToArray())
            .ToList();
        int dim = int.Parse(BenchReport.Option(args, "--dim", "512"), CultureInfo.InvariantCulture);
        var rows = new List<object>();
        var md = new System.Text.StringBuilder("# Retrieval scoring at scale (tiled)\n\n");
        md.Append(
                $"Random unit embeddings, dim {dim}, caption t belongs to image t mod N; `RetrievalResult.Compute` "
                    + $"with its default tiles "
            )
            .Append(
                $"({RetrievalResult.DefaultImageTile} × {RetrievalResult.DefaultTextTile}). Peak memory: the "
                    + $"process's VmHWM.\n\n"
            )
            .Append(
                "| images | captions | seconds | peak resident MiB | full float64 matrix GiB |\n|---|---|---|---|---|\n"
            );
        foreach (var size in sizes)
        {
            long n = size[0],
                m = size[1];
            using var scope = NewDisposeScope();
            var generator = new TorchSharp.torch.Generator(0);
            var images = nn.functional.normalize(randn(n, dim, generator: generator), dim: -1);
            var texts = nn.functional.normalize(randn(m, dim, generator: generator), dim: -1);
            var owner = Enumerable.Range(0, (int)m).Select(t => (int)(t % n)).ToArray();
            var clock = Stopwatch.StartNew();
            var r = RetrievalResult.Compute(images, texts, owner);
            double seconds = clock.Elapsed.TotalSeconds;
            double peakMb = ProcessMemory.PeakResidentMb();
            double fullGb = n * (double)m * 8 / (1L << 30);
            Console.WriteLine(
                $"{n} × {m}: {seconds:F1} s, peak {peakMb:F0} MiB (full matrix {fullGb:F0} GiB), mean recall "
                    + $"{r.MeanRecall:F4}"
            );
            rows.Add(
                new
                {
                    images = n,
                    captions = m,
                    dim,
                    seconds,
                    peak_resident_mb = peakMb,
                    full_matrix_gb = fullGb,
                    mean_recall = r.MeanRecall,
                }
            );
            md.Append($"| {n:N0} | {m:N0} | {seconds:F1} | {peakMb:F0} | {fullGb:F0} |\n");
        }
        BenchReport.Write(BenchReport.ResultsDir(args), "retrieval-scale", new { rows }, md.ToString());
        return 0;
    }
}
