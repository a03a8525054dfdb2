using SemiClip.Tests.Support;

namespace SemiClip.Tests.Cli;

public class CliToolsTests
{
    [Fact]
    public void EmbedSearchInspectAndKeywordsRunOnFilesTheTestWrites()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var (code, output) = CliProcess.Run(
            new[] { "train", "--run-name", "m", "--method", "clip", "--device", "cpu" }
                .Concat(common.Concat(new[] { "steps=3" }).SelectMany(o => new[] { "--set", o }))
                .ToArray()
        );
        Assert.True(code == 0, output);

        (code, output) = CliProcess.Run(
            "embed",
            "--model",
            dir.File("runs/m"),
            "--images",
            dir.File("data/test"),
            "--out",
            dir.File("index.safetensors"),
            "--device",
            "cpu"
        );
        Assert.True(code == 0, output);
        Assert.Equal(20, File.ReadAllLines(dir.File("index.jsonl")).Length);
        (code, output) = CliProcess.Run(
            "search",
            "a parking lot",
            "--index",
            dir.File("index.safetensors"),
            "--model",
            dir.File("runs/m"),
            "--top",
            "3",
            "--device",
            "cpu"
        );
        Assert.True(code == 0, output);
        Assert.Contains(".png", output);
        Assert.Equal(3, output.Split('\n').Count(l => l.Contains(".png")));

        (code, output) = CliProcess.Run(
            "data",
            "inspect",
            dir.File("data/train.jsonl"),
            "--label-ratio",
            "0.25",
            "--vocab",
            dir.File("merges.txt")
        );
        Assert.True(code == 0, output);
        Assert.Contains("paired / unpaired at label ratio 0.25", output);
        Assert.Contains("10 / 30", output);
        (code, output) = CliProcess.Run("data", "inspect", dir.File("data/test"));
        Assert.True(code == 0, output);
        Assert.Contains("classes", output);

        (code, output) = CliProcess.Run(
            "keywords",
            "extract",
            dir.File("data/train.jsonl"),
            "--top",
            "12",
            "--out",
            dir.File("kw.txt")
        );
        Assert.True(code == 0, output);
        Assert.Equal(12, File.ReadAllLines(dir.File("kw.txt")).Length);

        // Which of the test images to caption next, given the train captions.
        (code, output) = CliProcess.Run(
            "suggest",
            "--model",
            dir.File("runs/m"),
            "--captions",
            dir.File("data/train.jsonl"),
            "--images",
            dir.File("data/test"),
            "--top",
            "5",
            "--out",
            dir.File("next/suggest.csv"),
            "--device",
            "cpu"
        );
        Assert.True(code == 0, output);
        var rows = File.ReadAllLines(dir.File("next/suggest.csv"));
        Assert.Equal("rank,path,score,uncertainty,novelty,nearest_captioned,nearest_caption", rows[0]);
        Assert.Equal(6, rows.Length);
        var first = rows[1].Split(',');
        Assert.Equal("1", first[0]);
        Assert.True(File.Exists(first[1]), first[1]);
        Assert.StartsWith(dir.File("data/test"), first[1]);
        var scores = rows.Skip(1)
            .Select(r => double.Parse(r.Split(',')[2], System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
        Assert.All(scores, v => Assert.InRange(v, 0, 1));
        Assert.Equal(5, rows.Skip(1).Select(r => r.Split(',')[1]).Distinct().Count());
    }

    [Fact]
    public void ShardedEmbeddingsSearchLikeOneIndex()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var (code, output) = CliProcess.Run(
            new[] { "train", "--run-name", "m", "--method", "clip", "--device", "cpu" }
                .Concat(common.Concat(new[] { "steps=2" }).SelectMany(o => new[] { "--set", o }))
                .ToArray()
        );
        Assert.True(code == 0, output);
        foreach (var (shard, file) in new[] { ("0/2", "a"), ("1/2", "b") })
        {
            (code, output) = CliProcess.Run(
                "embed",
                "--model",
                dir.File("runs/m"),
                "--images",
                dir.File("data/test"),
                "--shard",
                shard,
                "--out",
                dir.File($"{file}.safetensors"),
                "--device",
                "cpu"
            );
            Assert.True(code == 0, output);
        }
        var a = File.ReadAllLines(dir.File("a.jsonl"));
        var b = File.ReadAllLines(dir.File("b.jsonl"));
        Assert.Equal(10, a.Length);
        Assert.Equal(10, b.Length);
        (code, output) = CliProcess.Run(
            "embed",
            "--model",
            dir.File("runs/m"),
            "--images",
            dir.File("data/test"),
            "--out",
            dir.File("all.safetensors"),
            "--device",
            "cpu"
        );
        Assert.True(code == 0, output);
        var (c1, merged) = CliProcess.Run(
            "search",
            "a parking lot",
            "--index",
            dir.File("a.safetensors"),
            dir.File("b.safetensors"),
            "--model",
            dir.File("runs/m"),
            "--top",
            "5",
            "--device",
            "cpu"
        );
        var (c2, single) = CliProcess.Run(
            "search",
            "a parking lot",
            "--index",
            dir.File("all.safetensors"),
            "--model",
            dir.File("runs/m"),
            "--top",
            "5",
            "--device",
            "cpu"
        );
        Assert.True(c1 == 0 && c2 == 0, merged + single);
        string Ranked(string text) =>
            string.Join(
                "\n",
                text.Split('\n')
                    .Where(l => l.Contains(".png"))
                    .Select(l => l.Split(" ", StringSplitOptions.RemoveEmptyEntries).First(t => t.Contains(".png")))
            );
        Assert.Equal(5, Ranked(single).Split('\n').Length);
        Assert.Equal(Ranked(single), Ranked(merged));
        Assert.Contains(
            "is not i/n",
            CliProcess
                .Run(
                    "embed",
                    "--model",
                    dir.File("runs/m"),
                    "--images",
                    dir.File("data/test"),
                    "--shard",
                    "2/2",
                    "--out",
                    dir.File("x.safetensors")
                )
                .Output
        );
    }
}
