using System.Diagnostics;
using System.Globalization;
using System.Text;
using SemiClip.Model;
using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Bench;

/// <summary><c>bench profile</c>: where a ViT block's training time goes at real sizes (forward + backward of each
/// part on [batch, tokens, width] activations, ViT-B/16 by default), with scaled_dot_product_attention beside the same
/// attention written as two matrix products and a softmax, at two batch sizes.</summary>
public static class ProfileBenchmark
{
    public static int Run(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        int tokens = int.Parse(BenchReport.Option(args, "--tokens", "197"), inv),
            width = int.Parse(BenchReport.Option(args, "--width", "768"), inv),
            reps = int.Parse(BenchReport.Option(args, "--reps", "3"), inv);
        var batches = BenchReport.Option(args, "--batches", "32,64").Split(',').Select(int.Parse).ToArray();
        int heads = width / 64;
        var rows = new List<object>();
        var md = new StringBuilder(
            $"# Where a ViT block's training time goes ({get_num_threads()} threads, {DateTime.UtcNow:yyyy-MM-dd})\n\n"
                + $"Forward + backward of each part of one pre-norm block, {tokens} tokens × width {width}, {heads} "
                + $"heads, fp32, best of {reps}; ms per call and ms per image. Command: `{BenchReport.CommandLine()}`."
                + "\n\n| part | batch | ms | ms / image |\n|---|---|---|---|\n"
        );
        foreach (int batch in batches)
        {
            using var scope = NewDisposeScope();
            var x = randn([batch, tokens, width]).requires_grad_(true);
            var q = randn([batch, heads, tokens, 64]).requires_grad_(true);
            var k = randn([batch, heads, tokens, 64]).requires_grad_(true);
            var v = randn([batch, heads, tokens, 64]).requires_grad_(true);
            var norm = nn.LayerNorm(width);
            var gelu = QuickGelu.Activation(true);
            var qkv = nn.Linear(width, 3 * width);
            var fc = nn.Linear(width, 4 * width);
            var h = randn([batch, tokens, 4 * width]).requires_grad_(true);
            var parts = new (string Name, Func<Tensor> Forward)[]
            {
                ("attention: scaled_dot_product_attention", () => nn.functional.scaled_dot_product_attention(q, k, v)),
                ("attention: q·kᵀ, softmax, ·v", () =>
                    q.matmul(k.transpose(-2, -1)).Times(0.125).softmax(-1).matmul(v)
                ),
                ("layer norm", () => norm.forward(x)),
                ("quick GELU (on the 4× MLP width)", () => gelu.forward(h)),
                ("qkv projection", () => qkv.forward(x)),
                ("MLP first projection", () => fc.forward(x)),
            };
            foreach (var (name, forward) in parts)
            {
                double best = double.MaxValue;
                for (int r = 0; r < reps + 1; r++)
                {
                    using var inner = NewDisposeScope();
                    var clock = Stopwatch.StartNew();
                    var y = forward();
                    y.sum().backward();
                    double ms = clock.Elapsed.TotalMilliseconds;
                    if (r > 0)
                        best = Math.Min(best, ms);
                    foreach (var t in new[] { x, q, k, v, h })
                        t.grad?.zero_();
                }
                rows.Add(
                    new
                    {
                        part = name,
                        batch,
                        ms = best,
                        ms_per_image = best / batch,
                    }
                );
                md.Append(string.Create(inv, $"| {name} | {batch} | {best:F0} | {best / batch:F2} |\n"));
                Console.WriteLine($"{name} batch {batch}: {best:F0} ms");
            }
        }
        BenchReport.Write(
            BenchReport.ResultsDir(args),
            "profile-cpu",
            new
            {
                tokens,
                width,
                heads,
                rows,
            },
            md.ToString()
        );
        return 0;
    }
}
