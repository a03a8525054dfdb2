using System.Text.Json;
using SemiClip.Data;
using SemiClip.IO;
using SemiClip.Tests.Support;
using SemiClip.Tokenization;
using SemiClip.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SemiClip.Tests.Fuzz;

/// <summary>Every parser against thousands of mutated and truncated variants of a valid input: each input is
/// either accepted whole (checked against the parser's invariants, so nothing is silently mangled) or refused
/// with the documented exception naming the file; never another exception, a hang or a crash.</summary>
public class ParserFuzzTests(ITestOutputHelper output)
{
    const int Inputs = 2000;

    void Check(string parser, FuzzOutcome outcome)
    {
        output.WriteLine($"{parser}: {outcome}");
        Assert.True(outcome.Defects.Count == 0, $"{parser}: {outcome}\n" + string.Join("\n", outcome.Defects));
        Assert.True(outcome.Refused > Inputs / 20, $"{parser}: the mutations hardly reach the parser ({outcome})");
    }

    static bool IsInvalidData(Exception e) => e is InvalidDataException;

    [Fact]
    public void SafeTensorsHeaderAndOffsets()
    {
        using var dir = new TempDir();
        var valid = dir.File("valid.safetensors");
        using (var a = arange(6, float32).reshape(2, 3))
        using (var b = ones(4, ScalarType.BFloat16))
        using (var c = zeros(new long[] { 0, 2 }, int64))
            SafeTensorsWriter.Write(
                valid,
                new Dictionary<string, Tensor>
                {
                    ["a"] = a,
                    ["b"] = b,
                    ["c"] = c,
                },
                new Dictionary<string, string> { ["k"] = "v" }
            );
        var outcome = FuzzOutcome.Run(
            dir.File("fuzz.safetensors"),
            Mutator.Variants(File.ReadAllBytes(valid), Inputs, 1),
            path =>
            {
                using var reader = new SafeTensorsReader(path);
                long total = 0;
                foreach (var info in reader.Tensors)
                {
                    using var t = reader.Read(info.Name);
                    Assert.Equal(info.Shape, t.shape);
                    total += info.End - info.Begin;
                }
                Assert.Equal(
                    new FileInfo(path).Length,
                    total + 8 + (long)BitConverter.ToUInt64(File.ReadAllBytes(path), 0)
                );
            },
            e => e is SafeTensorsFormatException
        );
        Check("safetensors", outcome);
    }

    const string Jsonl =
        "{\"image\": \"a.png\", \"captions\": [\"a red square\", \"red\"], \"label\": "
        + "\"red\"}\n{\"image\": \"b.png\", \"caption\": \"a blue square\"}\n";
    const string Csv = "filepath,title\na.png,a red square\n\"b.png\",\"a blue, square\"\n";
    const string Karpathy =
        "{\"images\": [{\"filename\": \"a.png\", \"split\": \"train\", \"label\": \"red\", "
        + "\"sentences\": [{\"raw\": \"a red square\"}]}, "
        + "{\"filename\": \"b.png\", \"split\": \"test\", \"sentences\": [{\"raw\": \"a blue square\"}, {\"raw\": "
        + "\"blue\"}]}]}";

    [Theory]
    [InlineData("captions.jsonl", Jsonl)]
    [InlineData("captions.csv", Csv)]
    [InlineData("captions.tsv", "filepath\ttitle\na.png\ta red square\nb.png\ta blue square\n")]
    [InlineData("dataset_x.json", Karpathy)]
    public void CaptionFiles(string name, string valid)
    {
        using var dir = new TempDir();
        var options = new CaptionDatasetOptions
        {
            CheckImagesExist = false,
            Split = name.EndsWith(".json", StringComparison.Ordinal) ? null : "train",
        };
        var outcome = FuzzOutcome.Run(
            dir.File(name),
            Mutator.Variants(valid, Inputs, name.Length),
            path =>
            {
                // Skipping: bad rows are listed, never thrown; what is kept must be whole.
                var skipped = new BadInputReport(BadInputPolicy.Skip);
                foreach (var s in CaptionDatasetReader.Read(path, options, skipped))
                {
                    Assert.False(string.IsNullOrWhiteSpace(s.ImagePath), "accepted a sample without an image path");
                    Assert.NotEmpty(s.Captions);
                    Assert.All(s.Captions, c =>
                        Assert.False(string.IsNullOrWhiteSpace(c), "accepted an empty caption")
                    );
                }
                Assert.All(skipped.Items, b => Assert.Contains(Path.GetFileName(path), b.Location));
                // Failing fast: the first bad row stops the read (BadInputException naming file and line).
                CaptionDatasetReader.Read(path, options, new BadInputReport(BadInputPolicy.FailFast));
            },
            e => e is InvalidDataException or BadInputException or SettingsException
        );
        Check(name, outcome);
    }

    [Theory]
    [InlineData(
        "train.yaml",
        "method: sclip\nlabel_ratio: 0.1\nbatch_size: 64\nloss:\n  caption_weight: 0.5\n  intra_source: "
            + "teacher\nsplit: null\n"
    )]
    [InlineData(
        "train.json",
        "{\"method\": \"sclip\", \"label_ratio\": 0.1, \"batch_size\": 64, \"loss\": {\"caption_weight\": 0.5, "
            + "\"intra_source\": \"teacher\"}}"
    )]
    public void TrainingConfigs(string name, string valid)
    {
        using var dir = new TempDir();
        var outcome = FuzzOutcome.Run(
            dir.File(name),
            Mutator.Variants(valid, Inputs, 3),
            path =>
            {
                var config = TrainConfig.Load(path);
                // Accepted means representable: what config.json would record reads back the same.
                File.WriteAllText(path + ".roundtrip.json", config.ToJson());
                Assert.Equal(config.ToJson(), TrainConfig.Load(path + ".roundtrip.json").ToJson());
            },
            // A refused config names each problem's field, and the line of the file where one was given.
            e =>
                IsInvalidData(e)
                || e is SettingsException s
                    && s.Problems.All(p =>
                        p.Field.Length > 0 && (p.Location is null || p.Location.StartsWith(dir.File(name) + ":"))
                    )
        );
        Check(name, outcome);
    }

    [Fact]
    public void ModelConfigs()
    {
        using var dir = new TempDir();
        var valid = SemiClip.Model.ClipConfig.Load("tiny-vit").ToJson();
        var outcome = FuzzOutcome.Run(
            dir.File("model.json"),
            Mutator.Variants(valid, Inputs, 6),
            path =>
            {
                var config = SemiClip.Model.ClipConfig.Load(path);
                Assert.True(
                    config.EmbedDim > 0
                        && config.Vision.Width > 0
                        && config.Text.Width > 0
                        && config.Text.VocabSize > 0,
                    "accepted a config with an empty dimension"
                );
            },
            IsInvalidData
        );
        Check("model config", outcome);
    }

    [Fact]
    public void MergesFiles()
    {
        using var dir = new TempDir();
        var valid = "#version: 0.2\nt h\nth e</w>\na n\nan d</w>\ns q\nsq u\nr e\nre d</w>\n";
        var outcome = FuzzOutcome.Run(
            dir.File("merges.txt"),
            Mutator.Variants(valid, Inputs, 4),
            path =>
            {
                var tok = ClipTokenizer.FromMergesFile(path);
                Assert.Equal(
                    "the red square and the sand",
                    tok.Decode(tok.Encode("the red square and the sand")).Trim()
                );
            },
            IsInvalidData
        );
        Check("merges", outcome);
    }

    [Fact]
    public void HuggingFaceVocabularies()
    {
        using var dir = new TempDir();
        var merges = "#version: 0.2\nt h\nth e</w>\nr e\nre d</w>\n";
        File.WriteAllText(dir.File("merges.txt"), merges);
        var tok = ClipTokenizer.FromMergesFile(dir.File("merges.txt"));
        // A faithful vocab.json: each token's text with its id, as HF writes it.
        var vocab = JsonSerializer.Serialize(tok.Vocabulary());
        var outcome = FuzzOutcome.Run(
            dir.File("vocab.json"),
            Mutator.Variants(vocab, Inputs / 2, 5),
            path =>
            {
                var t = ClipTokenizer.FromHuggingFace(path, dir.File("merges.txt"));
                Assert.Equal("the red", t.Decode(t.Encode("the red")).Trim());
            },
            IsInvalidData
        );
        Check("vocab.json", outcome);
    }

    [Theory]
    [InlineData("classes.csv")]
    [InlineData("names.txt")]
    [InlineData("keywords.txt")]
    [InlineData("templates.txt")]
    public void ClassListsKeywordsAndTemplates(string name)
    {
        using var dir = new TempDir();
        TestImages.Png(dir.File("a.png"));
        TestImages.Png(dir.File("b.png"));
        Directory.CreateDirectory(dir.File("tree/red"));
        TestImages.Png(dir.File("tree/red/x.png"));
        var (valid, parse) = name switch
        {
            "classes.csv" => (
                "path,label\na.png,red_square\nb.png,blue\n",
                (Action<string>)(
                    p =>
                        Assert.All(
                            ClassificationDataset.Load(p, new BadInputReport(BadInputPolicy.Skip)).ClassNames,
                            n => Assert.False(string.IsNullOrWhiteSpace(n))
                        )
                )
            ),
            "names.txt" => ("red: a red thing\n\nblue: a blue thing\n", p =>
                Assert.All(
                    ClassificationDataset
                        .Load(dir.File("tree"), new BadInputReport(BadInputPolicy.Skip), classNamesFile: p)
                        .ClassNames,
                    n => Assert.False(string.IsNullOrWhiteSpace(n))
                )
            ),
            "keywords.txt" => ("# class names\nred\nblue square\n", p =>
                Assert.All(KeywordLabeler.FromFile(p).Keywords, k => Assert.False(string.IsNullOrWhiteSpace(k)))
            ),
            _ => ("an aerial photograph of {}.\na satellite image of {}.\n", p =>
                Assert.All(SemiClip.Evaluation.PromptTemplates.Load(p), t => Assert.Contains("{}", t))
            ),
        };
        var outcome = FuzzOutcome.Run(
            dir.File(name),
            Mutator.Variants(valid, Inputs / 2, name.Length),
            parse,
            IsInvalidData
        );
        output.WriteLine($"{name}: {outcome}");
        Assert.True(outcome.Defects.Count == 0, $"{name}: {outcome}\n" + string.Join("\n", outcome.Defects));
    }
}
