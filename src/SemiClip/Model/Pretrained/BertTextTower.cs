using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Model.Pretrained;

/// <summary>A BERT-family encoder's shape, in Hugging Face <c>config.json</c>'s names.</summary>
public sealed record BertConfig
{
    public int VocabSize { get; init; } = 30522;
    public int HiddenSize { get; init; } = 768;
    public int NumHiddenLayers { get; init; } = 12;
    public int NumAttentionHeads { get; init; } = 12;
    public int IntermediateSize { get; init; } = 3072;
    public int MaxPositionEmbeddings { get; init; } = 512;
    public int TypeVocabSize { get; init; } = 2;
    public double LayerNormEps { get; init; } = 1e-12;

    /// <summary>How a sentence becomes one vector: <c>mean</c> of the last hidden states over real tokens
    /// (sentence-transformers) or the <c>cls</c> token's.</summary>
    public string Pooling { get; init; } = "mean";

    /// <summary>The Hugging Face <c>config.json</c> fields (what <see cref="FromHuggingFace"/> reads), with
    /// <c>pooling</c>.</summary>
    public JsonObject ToHuggingFace() =>
        new()
        {
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["intermediate_size"] = IntermediateSize,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["type_vocab_size"] = TypeVocabSize,
            ["layer_norm_eps"] = LayerNormEps,
            ["pooling"] = Pooling,
        };

    /// <summary>A Hugging Face <c>config.json</c> (BertModel's fields; absent ones take BERT-base's values).</summary>
    public static BertConfig FromHuggingFace(JsonNode config, string source)
    {
        int Int(string name, int fallback) =>
            config[name] is JsonValue v
                ? v.TryGetValue<int>(out var i)
                    ? i
                    : throw new InvalidDataException($"{source}: '{name}' must be an integer.")
                : fallback;
        var defaults = new BertConfig();
        return new BertConfig
        {
            VocabSize = Int("vocab_size", defaults.VocabSize),
            HiddenSize = Int("hidden_size", defaults.HiddenSize),
            NumHiddenLayers = Int("num_hidden_layers", defaults.NumHiddenLayers),
            NumAttentionHeads = Int("num_attention_heads", defaults.NumAttentionHeads),
            IntermediateSize = Int("intermediate_size", defaults.IntermediateSize),
            MaxPositionEmbeddings = Int("max_position_embeddings", defaults.MaxPositionEmbeddings),
            TypeVocabSize = Int("type_vocab_size", defaults.TypeVocabSize),
            LayerNormEps = config["layer_norm_eps"]?.GetValue<double>() ?? defaults.LayerNormEps,
            Pooling = config["pooling"]?.GetValue<string>() ?? defaults.Pooling,
        };
    }
}

/// <summary>Hugging Face's <c>BertModel</c> encoder with its parameter names (<c>embeddings.*</c>,
/// <c>encoder.layer.N.*</c>), so its safetensors load by name; erf GELU, post-norm layers. Encodes token ids with an
/// attention mask into one vector per text, pooled as <see cref="BertConfig.Pooling"/> says.</summary>
public sealed class BertTextTower : nn.Module<Tensor, Tensor, Tensor>
{
    readonly BertEmbeddings embeddings;
    readonly BertEncoder encoder;

    public BertConfig Config { get; }

    public BertTextTower(BertConfig config)
        : base("BertModel")
    {
        if (config.HiddenSize % config.NumAttentionHeads != 0)
            throw new ArgumentException(
                $"hidden_size {config.HiddenSize} is not a multiple of num_attention_heads {config.NumAttentionHeads}."
            );
        if (config.Pooling is not ("mean" or "cls"))
            throw new ArgumentException($"pooling '{config.Pooling}': mean or cls.");
        Config = config;
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        RegisterComponents();
    }

    /// <summary>The last hidden states [B, T, H] of <paramref name="ids"/> [B, T]; <paramref name="mask"/> [B, T] is
    /// 1 for real tokens and 0 for padding.</summary>
    public Tensor HiddenStates(Tensor ids, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var x = embeddings.forward(ids);
        // [B, 1, 1, T]: every query sees the real tokens only.
        var keep = mask.to(@bool).unsqueeze(1).unsqueeze(1);
        foreach (var layer in encoder.Layers)
            x = layer.forward(x, keep);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>One vector per text [B, H].</summary>
    public override Tensor forward(Tensor ids, Tensor mask)
    {
        using var scope = NewDisposeScope();
        return Pool(HiddenStates(ids, mask), mask).MoveToOuterDisposeScope();
    }

    /// <summary>Hidden states [B, T, H] to one vector per text [B, H], as <see cref="BertConfig.Pooling"/>
    /// says.</summary>
    public Tensor Pool(Tensor hidden, Tensor mask)
    {
        if (Config.Pooling == "cls")
            return hidden.select(1, 0);
        using var scope = NewDisposeScope();
        var weights = mask.to(hidden.dtype).unsqueeze(-1);
        return ((hidden * weights).sum(1) / weights.sum(1).AtLeast(1e-9)).MoveToOuterDisposeScope();
    }

    /// <summary>Copies weights named as in <c>BertModel</c>'s state dict (a <c>bert.</c> prefix, as BertForX
    /// checkpoints have, is dropped; the pooler and <c>position_ids</c> are not used and skipped); see
    /// <see cref="TowerWeights.LoadByName"/>.</summary>
    public void LoadByName(IReadOnlyDictionary<string, Tensor> weights, string source)
    {
        var given = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, value) in weights)
        {
            var key = name.StartsWith("bert.", StringComparison.Ordinal) ? name[5..] : name;
            if (key.StartsWith("pooler.", StringComparison.Ordinal) || key == "embeddings.position_ids")
                continue;
            given[key] = value;
        }
        TowerWeights.LoadByName(this, given, source);
    }

    /// <summary>Loads a BertModel exported to ONNX by PyTorch. Embeddings, LayerNorms and biases keep their names
    /// there; each Linear weight is stored transposed under a generated name, as the MatMul input whose output adds
    /// the Linear's named bias, which names it.</summary>
    public static BertTextTower FromOnnx(OnnxWeights onnx, BertConfig config)
    {
        var named = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, value) in onnx.Initialisers)
            if (name.Split('.')[0] is "embeddings" or "encoder")
                named[name] = value;
        var consumers = onnx
            .Nodes.SelectMany(n => n.Input.Select(i => (Input: i, Node: n)))
            .ToLookup(x => x.Input, x => x.Node);
        var transposed = new List<Tensor>();
        foreach (var matmul in onnx.Nodes.Where(n => n.OpType == "MatMul" && onnx.Has(n.Input[1])))
        {
            var bias = consumers[matmul.Output[0]]
                .Where(n => n.OpType == "Add")
                .SelectMany(n => n.Input)
                .FirstOrDefault(i => i.EndsWith(".bias", StringComparison.Ordinal) && onnx.Has(i));
            if (bias is null)
                continue;
            var weight = onnx.Get(matmul.Input[1]).t();
            transposed.Add(weight);
            named[bias[..^".bias".Length] + ".weight"] = weight;
        }
        try
        {
            var tower = new BertTextTower(config);
            tower.LoadByName(named, onnx.Source);
            return tower;
        }
        finally
        {
            foreach (var t in transposed)
                t.Dispose();
        }
    }
}

sealed class BertEmbeddings : nn.Module<Tensor, Tensor>
{
    readonly Embedding word_embeddings;
    readonly Embedding position_embeddings;
    readonly Embedding token_type_embeddings;
    readonly LayerNorm LayerNorm;

    public BertEmbeddings(BertConfig c)
        : base("BertEmbeddings")
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.HiddenSize);
        position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, c.HiddenSize);
        token_type_embeddings = nn.Embedding(c.TypeVocabSize, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        RegisterComponents();
    }

    // One segment: every token has type 0, as a single sentence does.
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var positions = Scalars.Range(ids.shape[1], ids.device);
        var x = word_embeddings
            .forward(ids)
            .Plus(position_embeddings.forward(positions))
            .Plus(token_type_embeddings.weight!.select(0, 0));
        return LayerNorm.forward(x).MoveToOuterDisposeScope();
    }
}

sealed class BertEncoder : nn.Module
{
    readonly ModuleList<BertLayer> layer;

    public BertEncoder(BertConfig c)
        : base("BertEncoder")
    {
        layer = nn.ModuleList(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new BertLayer(c)).ToArray());
        RegisterComponents();
    }

    public IEnumerable<BertLayer> Layers => layer;
}

sealed class BertLayer : nn.Module<Tensor, Tensor, Tensor>
{
    readonly BertAttention attention;
    readonly BertDense intermediate;
    readonly BertDenseNorm output;

    public BertLayer(BertConfig c)
        : base("BertLayer")
    {
        attention = new BertAttention(c);
        intermediate = new BertDense(c.HiddenSize, c.IntermediateSize);
        output = new BertDenseNorm(c.IntermediateSize, c.HiddenSize, c.LayerNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor keep)
    {
        using var scope = NewDisposeScope();
        var attended = attention.forward(x, keep);
        var inner = nn.functional.gelu(intermediate.forward(attended));
        return output.forward(inner, attended).MoveToOuterDisposeScope();
    }
}

sealed class BertAttention : nn.Module<Tensor, Tensor, Tensor>
{
    readonly BertSelfAttention self;
    readonly BertDenseNorm output;

    public BertAttention(BertConfig c)
        : base("BertAttention")
    {
        self = new BertSelfAttention(c);
        output = new BertDenseNorm(c.HiddenSize, c.HiddenSize, c.LayerNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor keep) => output.forward(self.forward(x, keep), x);
}

sealed class BertSelfAttention : nn.Module<Tensor, Tensor, Tensor>
{
    readonly Linear query;
    readonly Linear key;
    readonly Linear value;
    readonly int _heads;

    public BertSelfAttention(BertConfig c)
        : base("BertSelfAttention")
    {
        query = nn.Linear(c.HiddenSize, c.HiddenSize);
        key = nn.Linear(c.HiddenSize, c.HiddenSize);
        value = nn.Linear(c.HiddenSize, c.HiddenSize);
        _heads = c.NumAttentionHeads;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor keep)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0],
            t = x.shape[1],
            h = x.shape[2];
        Tensor Heads(Linear projection) => projection.forward(x).view(b, t, _heads, h / _heads).transpose(1, 2);
        var attended = nn.functional.scaled_dot_product_attention(Heads(query), Heads(key), Heads(value), keep);
        return attended.transpose(1, 2).reshape(b, t, h).MoveToOuterDisposeScope();
    }
}

/// <summary>BERT's <c>intermediate</c>: a Linear named <c>dense</c>.</summary>
sealed class BertDense : nn.Module<Tensor, Tensor>
{
    readonly Linear dense;

    public BertDense(int inputs, int outputs)
        : base("BertIntermediate")
    {
        dense = nn.Linear(inputs, outputs);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => dense.forward(x);
}

/// <summary>BERT's <c>output</c> blocks: <c>dense</c>, then <c>LayerNorm</c> of the result plus the residual.</summary>
sealed class BertDenseNorm : nn.Module<Tensor, Tensor, Tensor>
{
    readonly Linear dense;
    readonly LayerNorm LayerNorm;

    public BertDenseNorm(int inputs, int outputs, double eps)
        : base("BertOutput")
    {
        dense = nn.Linear(inputs, outputs);
        LayerNorm = nn.LayerNorm(outputs, eps: eps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor residual)
    {
        using var scope = NewDisposeScope();
        return LayerNorm.forward(dense.forward(x).Plus(residual)).MoveToOuterDisposeScope();
    }
}
