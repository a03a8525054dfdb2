using SemiClip.Tokenization;

namespace SemiClip.Data;

/// <summary>What both training loaders (caption files and WebDataset shards) assemble the same way once their images
/// are decoded: the drawn captions to tokens and keyword labels, and the prefetched host batches to tensors. The
/// loaders differ only in where samples come from and in what order.</summary>
static class BatchAssembly
{
    /// <summary>Row-major [captions, context] token ids and, with a labeler, [captions, keywords] multi-hot
    /// labels.</summary>
    public static (long[] Tokens, float[]? KeywordLabels) EncodeCaptions(
        IReadOnlyList<string> captions,
        ITextTokenizer tokenizer,
        int contextLength,
        KeywordLabeler? keywords
    )
    {
        var tokens = new long[captions.Count * contextLength];
        Buffer.BlockCopy(
            tokenizer.TokenizeToArray(captions, contextLength),
            0,
            tokens,
            0,
            tokens.Length * sizeof(long)
        );
        if (keywords is null)
            return (tokens, null);
        int k = keywords.Keywords.Count;
        var labels = new float[captions.Count * k];
        for (int i = 0; i < captions.Count; i++)
            keywords.Label(captions[i]).CopyTo(labels, i * k);
        return (tokens, labels);
    }

    /// <summary>Global steps <paramref name="first"/> … first + steps − 1 built on worker threads ahead of use
    /// (<paramref name="prefetch"/> deep), each handed over as tensors.</summary>
    public static IEnumerable<TrainBatch> Stream(
        long first,
        long steps,
        Func<long, HostBatch> build,
        int prefetch,
        int imageSize,
        int contextLength,
        int keywordCount
    )
    {
        using var batcher = new PrefetchingBatcher<HostBatch>(
            Enumerable.Range(0, (int)steps).Select(i => first + i),
            build,
            prefetch
        );
        foreach (var host in batcher.Read())
            yield return TrainBatch.FromHost(host, imageSize, contextLength, keywordCount);
    }
}
