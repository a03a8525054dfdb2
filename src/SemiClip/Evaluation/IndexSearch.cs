using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Evaluation;

/// <summary>Brute-force nearest neighbours by cosine similarity: one matrix product over the index in
/// chunks (bounded memory), then top-k. The speed benchmark measures it at 100k embeddings.</summary>
public static class IndexSearch
{
    public static (float[] Scores, long[] Indices) TopK(Tensor index, Tensor query, int k, int chunk = 65536)
    {
        using var scope = NewDisposeScope();
        var q = query.view(1, -1).to(index.dtype);
        var bestScores = new List<Tensor>();
        var bestIndices = new List<Tensor>();
        for (long start = 0; start < index.shape[0]; start += chunk)
        {
            var part = index.narrow(0, start, Math.Min(chunk, index.shape[0] - start));
            var (v, i) = part.matmul(q.t()).view(-1).topk((int)Math.Min(k, part.shape[0]));
            bestScores.Add(v);
            bestIndices.Add(i.Plus(start));
        }
        var (scores, order) = cat(bestScores.ToArray()).topk((int)Math.Min(k, index.shape[0]));
        var indices = cat(bestIndices.ToArray()).index_select(0, order);
        return (scores.cpu().data<float>().ToArray(), indices.cpu().data<long>().ToArray());
    }
}
