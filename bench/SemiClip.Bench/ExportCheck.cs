using System.Text.Json;
using SemiClip.Export;
using SemiClip.Model;
using SemiClip.Tokenization;
using static TorchSharp.torch;

namespace SemiClip.Bench;

/// <summary><c>bench export-check --out DIR</c>: Hugging Face exports of two random models, one with OpenAI's
/// vocabulary and one with a vocabulary learned from captions (its end token elsewhere than 49407), each with
/// SemiClip's token ids and text embeddings for captions that exercise the tokenizer, for an independent client to
/// check (<c>bench/js/check.mjs</c>, transformers.js; <c>bench/js/run.sh</c> runs both).</summary>
public static class ExportCheck
{
    public static readonly string[] Captions =
    [
        "Many buildings and green trees are around a playground.",
        "a RIVER, 3 bridges & 12 boats; (aerial) view!",
        "Café-lined «plaza» with ünicode — and numbers 2024",
        "don't stop: it's 5:30pm at the harbour's edge",
        string.Join(' ', Enumerable.Repeat("a very long caption about farmland", 20)),
    ];

    public static int Run(string[] args)
    {
        var outDir = BenchReport.Option(args, "--out", Path.Combine(Path.GetTempPath(), "semiclip-export-check"));
        if (Directory.Exists(outDir))
            Directory.Delete(outDir, recursive: true);
        var learned = BpeTrainer.Train(
            Captions.Concat(["farmland beside a river", "an airport with two runways", "a dense residential area"]),
            300
        );
        var vocabFile = Path.Combine(Path.GetTempPath(), $"semiclip-check-merges-{Environment.ProcessId}.txt");
        BpeTrainer.Save(vocabFile, learned);
        foreach (
            var (name, tokenizer) in new[]
            {
                ("openai-vocab", ClipTokenizer.OpenAi()),
                ("learned-vocab", ClipTokenizer.FromMergesFile(vocabFile)),
            }
        )
        {
            manual_seed(1);
            var config = ClipConfig.Load("tiny-vit");
            config = config with { Text = config.Text with { VocabSize = tokenizer.VocabSize, ContextLength = 77 } };
            using var model = new ClipModel(config);
            model.eval();
            using var bundle = new ModelBundle(model, tokenizer);
            var dir = Path.Combine(outDir, name);
            ModelExport.Write(bundle, ExportFormat.HuggingFace, dir);
            var ids = tokenizer.TokenizeToArray(Captions, config.Text.ContextLength);
            using var _ = no_grad();
            using var embeds = model.EncodeText(tensor(ids));
            var rows = Enumerable
                .Range(0, Captions.Length)
                .Select(i =>
                    Enumerable
                        .Range(0, ids.GetLength(1))
                        .Select(j => ids[i, j])
                        .TakeWhile((id, j) => j == 0 || ids[i, j - 1] != tokenizer.EndOfTextId)
                        .ToArray()
                )
                .ToArray();
            File.WriteAllText(
                Path.Combine(dir, "expected.json"),
                JsonSerializer.Serialize(
                    new
                    {
                        captions = Captions,
                        end_of_text = tokenizer.EndOfTextId,
                        ids = rows,
                        text_embeds = Enumerable
                            .Range(0, Captions.Length)
                            .Select(i => embeds[i].data<float>().ToArray())
                            .ToArray(),
                    }
                )
            );
            Console.WriteLine($"{dir}: end-of-text id {tokenizer.EndOfTextId}, vocabulary {tokenizer.VocabSize}");
        }
        File.Delete(vocabFile);
        return 0;
    }
}
