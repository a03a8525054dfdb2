using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SemiClip.Evaluation;
using SemiClip.Model;
using SemiClip.Serve;
using SemiClip.Tokenization;
using static TorchSharp.torch;

namespace SemiClip.Bench;

/// <summary><c>bench serve-search</c>: what a user of <c>semiclip serve</c> waits for a text search over a large
/// collection — an HTTP GET of /api/search against a running server, timed at the client (encode the query with the
/// model's text tower, score every embedding, take the top 24, zero-shot label them, JSON). The collection is random
/// unit embeddings (what is measured does not depend on their values); the model's weights are random too, at the
/// real architecture's size, since its text tower's cost is the other half of the answer.</summary>
public static class ServeSearchBenchmark
{
    public static int Run(string[] args)
    {
        var sizes = BenchReport.Option(args, "--sizes", "100000").Split(',').Select(int.Parse).ToList();
        var models = BenchReport.Option(args, "--models", "tiny-vit,ViT-B-32").Split(',');
        int queries = int.Parse(BenchReport.Option(args, "--queries", "30"), CultureInfo.InvariantCulture);
        var rows = new List<object>();
        var md = new System.Text.StringBuilder("# Search latency of `semiclip serve`\n\n");
        md.Append("GET /api/search?q=…&k=24 against a running server on this machine, timed at the client; ")
            .Append($"{queries} different queries after 3 warm-up ones. Random unit embeddings as the collection, ")
            .Append("a randomly initialised model of the named architecture (OpenAI's tokenizer), ")
            .Append("10 zero-shot classes. ")
            .Append($"CPU threads: LibTorch's default ({get_num_threads()}).\n\n")
            .Append("| model | embeddings | median ms | p95 ms | max ms | server-side median ms |\n")
            .Append("|---|---|---|---|---|---|\n");
        foreach (var modelName in models)
            foreach (var size in sizes)
            {
                var (median, p95, max, server) = Measure(modelName, size, queries).GetAwaiter().GetResult();
                Console.WriteLine(
                    $"{modelName}, {size} embeddings: median {median:F1} ms, p95 {p95:F1} ms, max {max:F1} ms "
                        + $"(server {server:F1} ms)"
                );
                rows.Add(
                    new
                    {
                        model = modelName,
                        embeddings = size,
                        queries,
                        median_ms = median,
                        p95_ms = p95,
                        max_ms = max,
                        server_median_ms = server,
                    }
                );
                md.Append($"| {modelName} | {size:N0} | {median:F1} | {p95:F1} | {max:F1} | {server:F1} |\n");
            }
        md.Append("\nTarget (issue #31): under 100 ms at 100k embeddings.\n")
            .Append($"\nMade by `{BenchReport.CommandLine()}`.\n");
        BenchReport.Write(BenchReport.ResultsDir(args), "serve-search", new { rows }, md.ToString());
        return 0;
    }

    static async Task<(double Median, double P95, double Max, double Server)> Measure(
        string modelName,
        int size,
        int queries
    )
    {
        var options = new ServeOptions
        {
            Model = modelName,
            Port = 0,
            Device = "cpu",
        };
        Collection Synthetic(ServeOptions o, ImageRoots roots, Action<string, long, long> progress)
        {
            var config = ClipConfig.Load(modelName);
            var tokenizer = ClipTokenizer.OpenAi();
            var model = new ClipModel(config with { Text = config.Text with { VocabSize = tokenizer.VocabSize } });
            var embedder = new Embedder(model, tokenizer, CPU);
            var generator = new Generator(0);
            var features = nn.functional.normalize(randn(size, config.EmbedDim, generator: generator), dim: -1);
            var classes = Enumerable.Range(0, 10).Select(i => $"class {i}").ToList();
            var classEmbeddings = nn.functional.normalize(randn(10, config.EmbedDim, generator: generator), dim: -1);
            var images = Enumerable
                .Range(0, size)
                .Select(i => new ImageItem($"/collection/{i}.jpg", null, false, [], null))
                .ToList();
            return new Collection
            {
                Bundle = new ModelBundle(model, tokenizer),
                Embedder = embedder,
                Device = CPU,
                Images = images,
                Features = features,
                PairedIndices = [],
                UnpairedIndices = Enumerable.Range(0, size).ToList(),
                LogitScale = 100,
                ClassNames = classes,
                ClassEmbeddings = classEmbeddings,
                PseudoLabels = new PseudoLabelTable { Rows = [] },
            };
        }
        await using var server = await ServeApp.StartAsync(options, Synthetic);
        await server.Loaded;
        if (server.State.Error is { } error)
            throw new InvalidOperationException(error);
        using var http = new HttpClient { BaseAddress = server.Address };
        var words = new[]
        {
            "airport",
            "river",
            "farmland",
            "harbour",
            "forest",
            "stadium",
            "beach",
            "desert",
            "bridge",
            "parking lot",
        };
        var times = new List<double>();
        var serverTimes = new List<double>();
        for (int q = 0; q < queries + 3; q++)
        {
            var (a, b) = (words[q % words.Length], words[(q * 7 + 3) % words.Length]);
            var text = $"many {a}s near a {b} seen from above, query {q}";
            long start = Stopwatch.GetTimestamp();
            var body = await http.GetStringAsync("/api/search?k=24&q=" + Uri.EscapeDataString(text));
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (q < 3)
                continue;
            times.Add(ms);
            serverTimes.Add(JsonDocument.Parse(body).RootElement.GetProperty("tookMs").GetDouble());
        }
        times.Sort();
        serverTimes.Sort();
        return (
            times[times.Count / 2],
            times[(int)Math.Ceiling(0.95 * times.Count) - 1],
            times[^1],
            serverTimes[serverTimes.Count / 2]
        );
    }
}
