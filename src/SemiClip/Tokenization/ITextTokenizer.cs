using static TorchSharp.torch;

namespace SemiClip.Tokenization;

/// <summary>What training, evaluation and serving need of a text tower's tokenizer: texts to a [B, context] id
/// matrix, zero-padded (CLIP's BPE pads with 0 after its end token; BERT's [PAD] is 0).</summary>
public interface ITextTokenizer
{
    int VocabSize { get; }

    long[,] TokenizeToArray(IReadOnlyList<string> texts, int contextLength);

    Tensor Tokenize(IReadOnlyList<string> texts, int contextLength);
}
