using System.Security.Cryptography;
using System.Text.Json;
using SemiClip.Synthetic;
using SemiClip.Tests.Support;

namespace SemiClip.Tests.Synthetic;

public class SyntheticDatasetTests
{
    static string Digest(string root) =>
        Convert.ToHexString(
            SHA256.HashData(
                Directory
                    .GetFiles(root, "*", SearchOption.AllDirectories)
                    .OrderBy(f => f, StringComparer.Ordinal)
                    .SelectMany(f =>
                        File.ReadAllBytes(f).Concat(System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(root, f)))
                    )
                    .ToArray()
            )
        );

    [Theory]
    [InlineData(SyntheticDomain.Aerial)]
    [InlineData(SyntheticDomain.Tabletop)]
    public void SameSeedSameFilesOtherSeedOtherFiles(SyntheticDomain domain)
    {
        using var dir = new TempDir();
        var o = new SyntheticDataset.Options
        {
            Domain = domain,
            TrainPerClass = 2,
            TestPerClass = 1,
            ImageSize = 32,
            Seed = 3,
        };
        SyntheticDataset.Generate(dir.File("a"), o);
        SyntheticDataset.Generate(dir.File("b"), o);
        SyntheticDataset.Generate(dir.File("c"), o with { Seed = 4 });
        Assert.Equal(Digest(dir.File("a")), Digest(dir.File("b")));
        Assert.NotEqual(Digest(dir.File("a")), Digest(dir.File("c")));
    }

    [Fact]
    public void EveryCaptionNamesItsImagesClassAndImagesSitInTheirClassFolder()
    {
        using var dir = new TempDir();
        SyntheticDataset.Generate(
            dir.File("d"),
            new SyntheticDataset.Options
            {
                TrainPerClass = 5,
                TestPerClass = 1,
                ImageSize = 48,
                Seed = 1,
            }
        );
        var lines = File.ReadAllLines(dir.File("d/train.jsonl"));
        Assert.Equal(50, lines.Length);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var image = doc.RootElement.GetProperty("image").GetString()!;
            var cls = image.Split('/')[1].Replace('_', ' ');
            Assert.Contains(cls, AerialScenes.Classes);
            var captions = doc
                .RootElement.GetProperty("captions")
                .EnumerateArray()
                .Select(c => c.GetString()!)
                .ToList();
            Assert.Equal(5, captions.Count);
            Assert.All(captions, c => Assert.Contains(cls, c));
            // No caption names another class (a "river" scene never calls itself a "forest").
            Assert.All(captions, c =>
                Assert.DoesNotContain(AerialScenes.Classes.Where(o => o != cls && !cls.Contains(o)), o =>
                    c.Contains(" " + o + " ") || c.EndsWith(" " + o + ".")
                )
            );
            Assert.True(File.Exists(dir.File("d/" + image)));
        }
        Assert.Contains("parking lot", File.ReadAllLines(dir.File("d/keywords.txt")));
    }

    [Fact]
    public void ClassesLookDifferent()
    {
        // A nearest-class-mean classifier on raw pixels should beat chance by far: the scenes carry their class.
        var rng = new Random(0);
        var means = new Dictionary<string, double[]>();
        double[] Pixels(string cls, int seed)
        {
            var (bmp, _) = SyntheticDataset.Render(SyntheticDomain.Aerial, cls, 16, 1, new Random(seed));
            using (bmp)
                return bmp.Pixels.SelectMany(p => new double[] { p.Red, p.Green, p.Blue }).ToArray();
        }
        foreach (var c in AerialScenes.Classes)
        {
            var samples = Enumerable.Range(0, 10).Select(i => Pixels(c, 100 + i)).ToList();
            means[c] = Enumerable.Range(0, samples[0].Length).Select(k => samples.Average(s => s[k])).ToArray();
        }
        int correct = 0,
            total = 0;
        foreach (var c in AerialScenes.Classes)
            for (int i = 0; i < 5; i++)
            {
                var x = Pixels(c, 900 + i);
                var predicted = means
                    .MinBy(m => m.Value.Zip(x).Sum(p => (p.First - p.Second) * (p.First - p.Second)))
                    .Key;
                correct += predicted == c ? 1 : 0;
                total++;
            }
        Assert.True(correct > total / 2, $"nearest-mean accuracy {correct}/{total}");
    }
}
