using System.Text.Json;
using SemiClip.Curation;
using SemiClip.Data;
using SemiClip.Evaluation;
using SemiClip.Model;
using static TorchSharp.torch;

namespace SemiClip.Bench;

/// <summary>The suggest benchmark's training sets, per seed: a random 5% of the train images (the captions a user
/// already has), plus 5% more chosen either at random or by <see cref="CaptionSuggester"/> with the pretrained
/// starting model (what a user would run before captioning). Written once as JSON Lines and reused.</summary>
static class SuggestedSubsets
{
    public sealed record Files(string Random, string Suggested);

    public static Files Write(string work, RealData data, string startWeights, int seed)
    {
        var dir = Directory.CreateDirectory(Path.Combine(work, "data", "suggest")).FullName;
        var files = new Files(
            Path.Combine(dir, $"random5+random5-s{seed}.jsonl"),
            Path.Combine(dir, $"random5+suggested5-s{seed}.jsonl")
        );
        if (File.Exists(files.Random) && File.Exists(files.Suggested))
            return files;

        var train = CaptionDatasetReader.Read(
            data.CaptionFile,
            new CaptionDatasetOptions { ImageRoot = data.ImageRoot, Split = "train" },
            new BadInputReport(BadInputPolicy.Skip)
        );
        var rng = new Random(seed + 1000);
        var order = Enumerable.Range(0, train.Count).OrderBy(_ => rng.Next()).ToArray();
        int fivePercent = (int)Math.Round(0.05 * train.Count);
        var start = order.Take(fivePercent).ToArray();
        var rest = order.Skip(fivePercent).ToArray();
        var randomMore = rest.Take(fivePercent).ToArray();

        using var bundle = ModelBundle.Load(startWeights, data.VocabPath);
        var embedder = new Embedder(bundle.Model, bundle.Tokenizer, CPU);
        using var scope = NewDisposeScope();
        var startFeatures = embedder.EncodeImages(start.Select(i => train[i].ImagePath).ToList());
        var restFeatures = embedder.EncodeImages(rest.Select(i => train[i].ImagePath).ToList());
        double scale = bundle.Model.LogitScale();
        var suggested = CaptionSuggester
            .Rank(startFeatures, restFeatures, scale, fivePercent)
            .Select(s => rest[s.Index])
            .ToArray();

        string Lines(IEnumerable<int> chosen) =>
            string.Concat(
                chosen.Select(i =>
                    JsonSerializer.Serialize(
                        new
                        {
                            image = train[i].ImagePath,
                            captions = train[i].Captions,
                            label = train[i].Label,
                        }
                    ) + "\n"
                )
            );
        IO.AtomicFile.WriteAllText(files.Random, Lines(start.Concat(randomMore)));
        IO.AtomicFile.WriteAllText(files.Suggested, Lines(start.Concat(suggested)));
        int Classes(IEnumerable<int> chosen) => chosen.Select(i => train[i].Label).Distinct().Count();
        Console.WriteLine(
            $"suggest seed {seed}: classes covered by the first 5% {Classes(start)}, + random "
                + $"{Classes(start.Concat(randomMore))}, "
                + $"+ suggested {Classes(start.Concat(suggested))}; added images of classes absent from the first "
                + $"5%: random "
                + $"{randomMore.Count(i => !start.Any(j => train[j].Label == train[i].Label))}, suggested "
                + $"{suggested.Count(i => !start.Any(j => train[j].Label == train[i].Label))}"
        );
        return files;
    }
}
