using Onnx;
using SemiClip.Model;
using static TorchSharp.torch;

namespace SemiClip.Export;

/// <summary>The two encoders of a CLIP model as ONNX graphs, in the layout the .NET and JavaScript CLIP runtimes load
/// (the Xenova repositories'): <c>text_model.onnx</c> takes <c>input_ids</c> int64 [batch, sequence] and gives
/// <c>text_embeds</c>; <c>vision_model.onnx</c> takes <c>pixel_values</c> float32 [batch, 3, H, W] and gives
/// <c>image_embeds</c>. Both are the projected, not yet normalised, embeddings (as Hugging Face's *WithProjection
/// models give them). Each graph mirrors SemiClip's forward pass op for op: ViT, ModifiedResNet and the text
/// transformer, opset 17, batch and sequence length dynamic.</summary>
public static partial class OnnxTowers
{
    sealed class Weights(ClipModel model)
    {
        readonly Dictionary<string, Tensor> _all = model
            .state_dict()
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        public Tensor this[string name] =>
            _all.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"model has no weight {name}.");

        public bool Has(string name) => _all.ContainsKey(name);
    }

    /// <summary>The text encoder: a BERT-family encoder pooled over its real tokens ([PAD] is 0), or CLIP's own
    /// transformer, whose rows are read at their end-of-text token, the highest id in the row: CLIP's rule,
    /// which holds for OpenAI's vocabulary and for SemiClip's learned ones alike (both put end-of-text last).</summary>
    public static ModelProto Text(ClipModel model, bool halfWeights = false)
    {
        var c = model.Config;
        var w = new Weights(model);
        var g = new OnnxGraph("semiclip_text", halfWeights);
        var ids = g.Input("input_ids", OnnxGraph.Int64, "batch", "sequence");
        if (c.Text.Bert != null)
        {
            g.Output(BertText(g, w, c.Text.Bert, ids), "text_embeds", "batch", (long)c.EmbedDim);
            return g.ToModel(Version);
        }
        var length = g.Node("Slice", [g.Node("Shape", [ids]), g.Longs("one", [1]), g.Longs("two", [2])]); // [1]
        // [N, L, W]
        var x = g.Node("Gather", [g.Weight("token_embedding", w["token_embedding.weight"]), ids], ("axis", 0L));
        var positions = g.Node(
            "Slice",
            [
                g.Weight("positional_embedding", w["positional_embedding"]),
                g.Longs("zero", [0]),
                length,
                g.Longs("axis0", [0]),
            ]
        );
        x = g.Node("Add", [x, positions]);

        int context = c.Text.ContextLength;
        var causal = new float[context * context];
        for (int i = 0; i < context; i++)
            for (int j = i + 1; j < context; j++)
                causal[i * context + j] = float.NegativeInfinity;
        var mask = g.Node(
            "Slice",
            [
                g.Floats("causal_mask", causal, context, context),
                g.Longs("zeros", [0, 0]),
                g.Node("Concat", [length, length], ("axis", 0L)),
                g.Longs("axes01", [0, 1]),
            ]
        );
        for (int i = 0; i < c.Text.Layers; i++)
            x = Block(g, w, $"transformer.resblocks.{i}.", x, c.Text.Width, c.Text.Heads, c.QuickGelu, mask);
        x = g.LayerNorm(x, w["ln_final.weight"], w["ln_final.bias"], "ln_final");

        var endOfText = g.Node(
            "ArgMax",
            [g.Node("Cast", [ids], ("to", (long)OnnxGraph.FloatType))],
            ("axis", 1L),
            ("keepdims", 1L)
        ); // [N, 1]
        var pooled = g.Node("GatherND", [x, endOfText], ("batch_dims", 1L)); // [N, W]
        g.Output(
            g.Node("MatMul", [pooled, g.Weight("text_projection", w["text_projection"])]),
            "text_embeds",
            "batch",
            (long)c.EmbedDim
        );
        return g.ToModel(Version);
    }

    /// <summary>The image encoder: a ViT, a ModifiedResNet or an ImageNet ResNet trunk with its projection, as the
    /// model has.</summary>
    public static ModelProto Vision(ClipModel model, bool halfWeights = false)
    {
        var c = model.Config;
        var w = new Weights(model);
        var g = new OnnxGraph("semiclip_vision", halfWeights);
        int size = c.Vision.ImageSize;
        var pixels = g.Input("pixel_values", OnnxGraph.FloatType, "batch", 3L, (long)size, (long)size);
        var embeds =
            c.Vision.ImageNet != null ? ImageNetResNet(g, w, c.Vision.ImageNet, pixels)
            : c.Vision.IsResNet ? ResNet(g, w, c, pixels)
            : ViT(g, w, c, pixels);
        g.Output(embeds, "image_embeds", "batch", (long)c.EmbedDim);
        return g.ToModel(Version);
    }

    static string Version => typeof(OnnxTowers).Assembly.GetName().Version?.ToString() ?? "0";

    static string ViT(OnnxGraph g, Weights w, ClipConfig c, string pixels)
    {
        long patch = c.Vision.PatchSize,
            width = c.Vision.Width;
        var x = g.Node(
            "Conv",
            [pixels, g.Weight("visual.conv1", w["visual.conv1.weight"])],
            ("kernel_shape", new[] { patch, patch }),
            ("strides", new[] { patch, patch })
        ); // [N, W, g, g]
        x = g.Transpose(g.Reshape(x, 0, 0, -1), 0, 2, 1); // [N, g², W]
        var batch = g.Node("Slice", [g.Node("Shape", [pixels]), g.Longs("zero", [0]), g.Longs("one", [1])]);
        var classToken = g.Node(
            "Expand",
            [
                g.Reshape(g.Weight("visual.class_embedding", w["visual.class_embedding"]), 1, 1, width),
                g.Node("Concat", [batch, g.Longs("one_width", [1, width])], ("axis", 0L)),
            ]
        );
        x = g.Node(
            "Add",
            [
                g.Node("Concat", [classToken, x], ("axis", 1L)),
                g.Weight("visual.positional_embedding", w["visual.positional_embedding"]),
            ]
        );
        x = g.LayerNorm(x, w["visual.ln_pre.weight"], w["visual.ln_pre.bias"], "visual.ln_pre");
        for (int i = 0; i < c.Vision.Layers; i++)
            x = Block(
                g,
                w,
                $"visual.transformer.resblocks.{i}.",
                x,
                c.Vision.Width,
                c.Vision.Heads,
                c.QuickGelu,
                mask: null
            );
        x = g.LayerNorm(x, w["visual.ln_post.weight"], w["visual.ln_post.bias"], "visual.ln_post");
        var classOut = g.Node("Gather", [x, g.Longs("first", [0], scalar: true)], ("axis", 1L)); // [N, W]
        return g.Node("MatMul", [classOut, g.Weight("visual.proj", w["visual.proj"])]);
    }

    static string ResNet(OnnxGraph g, Weights w, ClipConfig c, string pixels)
    {
        string ConvBn(string x, string conv, string bn, long kernel, long stride = 1)
        {
            long pad = kernel / 2;
            var y = g.Node(
                "Conv",
                [x, g.Weight(conv, w[conv + ".weight"])],
                ("kernel_shape", new[] { kernel, kernel }),
                ("strides", new[] { stride, stride }),
                ("pads", new[] { pad, pad, pad, pad })
            );
            return BatchNorm(g, w, y, bn, 1e-5);
        }
        string Relu(string x) => g.Node("Relu", [x]);
        string AvgPool(string x, long k) =>
            k == 1 ? x : g.Node("AveragePool", [x], ("kernel_shape", new[] { k, k }), ("strides", new[] { k, k }));

        var x = Relu(ConvBn(pixels, "visual.conv1", "visual.bn1", 3, stride: 2));
        x = Relu(ConvBn(x, "visual.conv2", "visual.bn2", 3));
        x = Relu(ConvBn(x, "visual.conv3", "visual.bn3", 3));
        x = AvgPool(x, 2);
        var layers = c.Vision.ResNetLayers!;
        for (int stage = 1; stage <= 4; stage++)
            for (int b = 0; b < layers[stage - 1]; b++)
            {
                var p = $"visual.layer{stage}.{b}.";
                long stride = stage > 1 && b == 0 ? 2 : 1;
                var h = Relu(ConvBn(x, p + "conv1", p + "bn1", 1));
                h = Relu(ConvBn(h, p + "conv2", p + "bn2", 3));
                h = ConvBn(AvgPool(h, stride), p + "conv3", p + "bn3", 1);
                var identity = w.Has(p + "downsample.0.weight")
                    ? ConvBn(AvgPool(x, stride), p + "downsample.0", p + "downsample.1", 1)
                    : x;
                x = Relu(g.Node("Add", [h, identity]));
            }
        return AttentionPool(g, w, c, x);
    }

    /// <summary>A PyTorch BatchNorm2d in eval mode: its weight, bias and running statistics named by
    /// <paramref name="bn"/>.</summary>
    static string BatchNorm(OnnxGraph g, Weights w, string x, string bn, double eps) =>
        g.Node(
            "BatchNormalization",
            [
                x,
                g.Weight(bn + ".weight", w[bn + ".weight"]),
                g.Weight(bn + ".bias", w[bn + ".bias"]),
                g.Weight(bn + ".running_mean", w[bn + ".running_mean"]),
                g.Weight(bn + ".running_var", w[bn + ".running_var"]),
            ],
            ("epsilon", (float)eps)
        );

    /// <summary>CLIP's attention pooling: the mean of the feature map, prepended, is the one query.</summary>
    static string AttentionPool(OnnxGraph g, Weights w, ClipConfig c, string featureMap)
    {
        const string p = "visual.attnpool.";
        long channels = c.Vision.Width * 32,
            heads = c.Vision.Heads,
            d = channels / heads;
        var x = g.Transpose(g.Reshape(featureMap, 0, 0, -1), 0, 2, 1); // [N, HW, C]
        x = g.Node("Concat", [g.Node("ReduceMean", [x], ("axes", new[] { 1L }), ("keepdims", 1L)), x], ("axis", 1L));
        x = g.Node("Add", [x, g.Weight(p + "positional_embedding", w[p + "positional_embedding"])]);
        string Project(string input, string name) =>
            g.Linear(input, w[p + name + ".weight"], w[p + name + ".bias"], p + name);
        string Heads(string t) => g.Transpose(g.Reshape(t, 0, -1, heads, d), 0, 2, 1, 3); // [N, H, n, D]
        var first = g.Node("Slice", [x, g.Longs("zero", [0]), g.Longs("one", [1]), g.Longs("axis1", [1])]);
        var q = Heads(Project(first, "q_proj"));
        var k = Heads(Project(x, "k_proj"));
        var v = Heads(Project(x, "v_proj"));
        var scores = g.Node(
            "Mul",
            [g.Node("MatMul", [q, g.Transpose(k, 0, 1, 3, 2)]), g.Scalar("scale", (float)(1 / Math.Sqrt(d)))]
        );
        var attended = g.Node("MatMul", [g.Node("Softmax", [scores], ("axis", -1L)), v]); // [N, H, 1, D]
        var pooled = g.Reshape(g.Transpose(attended, 0, 2, 1, 3), 0, channels);
        return g.Linear(pooled, w[p + "c_proj.weight"], w[p + "c_proj.bias"], p + "c_proj");
    }

    /// <summary>A pre-norm residual block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).</summary>
    static string Block(OnnxGraph g, Weights w, string p, string x, int width, int heads, bool quickGelu, string? mask)
    {
        var h = g.LayerNorm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], p + "ln_1");
        x = g.Node("Add", [x, SelfAttention(g, w, p + "attn.", h, width, heads, mask)]);
        h = g.LayerNorm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], p + "ln_2");
        h = g.Activation(g.Linear(h, w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"], p + "mlp.c_fc"), quickGelu);
        return g.Node("Add", [x, g.Linear(h, w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"], p + "mlp.c_proj")]);
    }

    /// <summary>Multi-head self-attention with PyTorch's fused in-projection ([q; k; v] rows of
    /// in_proj_weight).</summary>
    static string SelfAttention(OnnxGraph g, Weights w, string p, string x, int width, int heads, string? mask)
    {
        long d = width / heads;
        var qkv = g.Transpose(
            g.Reshape(g.Linear(x, w[p + "in_proj_weight"], w[p + "in_proj_bias"], p + "in_proj"), 0, 0, 3, heads, d),
            2,
            0,
            3,
            1,
            4
        ); // [3, N, H, L, D]
        string Part(long i) => g.Node("Gather", [qkv, g.Longs("part", [i], scalar: true)], ("axis", 0L));
        var (q, k, v) = (Part(0), Part(1), Part(2));
        var scores = g.Node(
            "Mul",
            [g.Node("MatMul", [q, g.Transpose(k, 0, 1, 3, 2)]), g.Scalar("scale", (float)(1 / Math.Sqrt(d)))]
        );
        if (mask != null)
            scores = g.Node("Add", [scores, mask]);
        var attended = g.Node("MatMul", [g.Node("Softmax", [scores], ("axis", -1L)), v]); // [N, H, L, D]
        var merged = g.Reshape(g.Transpose(attended, 0, 2, 1, 3), 0, 0, width);
        return g.Linear(merged, w[p + "out_proj.weight"], w[p + "out_proj.bias"], p + "out_proj");
    }
}
