using SemiClip.Model.Pretrained;

namespace SemiClip.Export;

/// <summary>The web-pretrained towers' graphs: an ImageNet ResNet trunk (<see cref="ImageResNet"/>) and a
/// BERT-family encoder (<see cref="BertTextTower"/>), each with its linear projection, op for op as SemiClip computes
/// them.</summary>
public static partial class OnnxTowers
{
    /// <summary>pixel_values as SemiClip's preprocessing gives them to this tower (RGB; 0..255 for a trunk trained on
    /// BGR minus a mean image, which the graph then applies), the trunk, global average pooling, the projection.
    /// CNTK's SAME_LOWER padding is ONNX's own <c>auto_pad</c>, so the graph pads as the source did at every
    /// size.</summary>
    static string ImageNetResNet(OnnxGraph g, Weights w, ImageNetResNetVision v, string pixels)
    {
        var trunk = v.Trunk;
        (string Name, object Value) Padding(long kernel) =>
            trunk.Padding == ResNetPadding.SameLower
                ? ("auto_pad", "SAME_LOWER")
                : ("pads", new[] { kernel / 2, kernel / 2, kernel / 2, kernel / 2 });
        string ConvBn(string x, string conv, string bn, long stride = 1)
        {
            long kernel = w[conv + ".weight"].shape[2];
            var y = g.Node(
                "Conv",
                [x, g.Weight(conv, w[conv + ".weight"])],
                ("kernel_shape", new[] { kernel, kernel }),
                ("strides", new[] { stride, stride }),
                Padding(kernel)
            );
            return BatchNorm(g, w, y, bn, trunk.BatchNormEps);
        }
        string Relu(string x) => g.Node("Relu", [x]);

        var x = pixels;
        if (v.BgrMeanImage)
            x = g.Node(
                "Sub",
                [
                    g.Node("Gather", [x, g.Longs("bgr", [2, 1, 0])], ("axis", 1L)),
                    g.Weight("visual.input_mean", w["visual.input_mean"]),
                ]
            );
        const string p = "visual.trunk.";
        x = Relu(ConvBn(x, p + "conv1", p + "bn1", stride: 2));
        x = g.Node("MaxPool", [x], ("kernel_shape", new[] { 3L, 3L }), ("strides", new[] { 2L, 2L }), Padding(3));
        for (int stage = 0; stage < trunk.Layers.Length; stage++)
            for (int b = 0; b < trunk.Layers[stage]; b++)
            {
                var block = $"{p}layer{stage + 1}.{b}.";
                long stride = stage > 0 && b == 0 ? 2 : 1;
                string h;
                if (trunk.Bottleneck)
                {
                    h = Relu(ConvBn(x, block + "conv1", block + "bn1"));
                    h = Relu(ConvBn(h, block + "conv2", block + "bn2", stride));
                    h = ConvBn(h, block + "conv3", block + "bn3");
                }
                else
                {
                    h = Relu(ConvBn(x, block + "conv1", block + "bn1", stride));
                    h = ConvBn(h, block + "conv2", block + "bn2");
                }
                var shortcut = w.Has(block + "downsample.0.weight")
                    ? ConvBn(x, block + "downsample.0", block + "downsample.1", stride)
                    : x;
                x = Relu(g.Node("Add", [h, shortcut]));
            }
        var pooled = g.Node("Flatten", [g.Node("GlobalAveragePool", [x])], ("axis", 1L)); // [N, C]
        return g.Linear(pooled, w["visual.proj.weight"], null, "visual.proj");
    }

    /// <summary>Hugging Face's BertModel (post-norm layers, erf GELU, one token type), its attention mask read off
    /// the ids ([PAD] is 0, as SemiClip's tower reads it), pooled by mean over real tokens or at [CLS],
    /// projected.</summary>
    static string BertText(OnnxGraph g, Weights w, BertConfig c, string ids)
    {
        const string p = "text.transformer.";
        long d = c.HiddenSize / c.NumAttentionHeads;
        var length = g.Node("Slice", [g.Node("Shape", [ids]), g.Longs("one", [1]), g.Longs("two", [2])]); // [1]
        var positions = g.Node(
            "Slice",
            [
                g.Weight("position_embeddings", w[p + "embeddings.position_embeddings.weight"]),
                g.Longs("zero", [0]),
                length,
                g.Longs("axis0", [0]),
            ]
        );
        var typeZero = g.Node(
            "Gather",
            [
                g.Weight("token_type_embeddings", w[p + "embeddings.token_type_embeddings.weight"]),
                g.Longs("type0", [0], scalar: true),
            ],
            ("axis", 0L)
        );
        var x = g.Node(
            "Gather",
            [g.Weight("word_embeddings", w[p + "embeddings.word_embeddings.weight"]), ids],
            ("axis", 0L)
        );
        x = g.Node("Add", [g.Node("Add", [x, positions]), typeZero]);
        string Norm(string input, string name) =>
            g.LayerNorm(input, w[name + ".weight"], w[name + ".bias"], name, c.LayerNormEps);
        x = Norm(x, p + "embeddings.LayerNorm");

        // [PAD] (id 0) marks padding: real tokens weigh 1 in the mean ([N, T] float), a padding key gets −∞ before
        // the softmax ([N, 1, 1, T]).
        var padding = g.Node("Equal", [ids, g.Longs("pad", [0], scalar: true)]);
        var real = g.Node("Cast", [g.Node("Not", [padding])], ("to", (long)OnnxGraph.FloatType));
        var keyBias = g.Node(
            "Where",
            [
                g.Reshape(padding, 0, 1, 1, -1),
                g.Scalar("minus_infinity", float.NegativeInfinity),
                g.Scalar("no_bias", 0f),
            ]
        );
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            var layer = $"{p}encoder.layer.{i}.";
            string Linear(string input, string name) =>
                g.Linear(input, w[layer + name + ".weight"], w[layer + name + ".bias"], layer + name);
            string Heads(string t) => g.Transpose(g.Reshape(t, 0, 0, c.NumAttentionHeads, d), 0, 2, 1, 3);
            var q = Heads(Linear(x, "attention.self.query"));
            var k = Heads(Linear(x, "attention.self.key"));
            var v = Heads(Linear(x, "attention.self.value"));
            var scores = g.Node(
                "Mul",
                [g.Node("MatMul", [q, g.Transpose(k, 0, 1, 3, 2)]), g.Scalar("scale", (float)(1 / Math.Sqrt(d)))]
            );
            scores = g.Node("Add", [scores, keyBias]);
            var attended = g.Node("MatMul", [g.Node("Softmax", [scores], ("axis", -1L)), v]); // [N, H, T, D]
            var merged = g.Reshape(g.Transpose(attended, 0, 2, 1, 3), 0, 0, c.HiddenSize);
            var attentionOut = g.Node("Add", [Linear(merged, "attention.output.dense"), x]);
            x = Norm(attentionOut, layer + "attention.output.LayerNorm");
            var inner = g.Activation(Linear(x, "intermediate.dense"), quickGelu: false);
            x = Norm(g.Node("Add", [Linear(inner, "output.dense"), x]), layer + "output.LayerNorm");
        }
        string pooled;
        if (c.Pooling == "cls")
            pooled = g.Node("Gather", [x, g.Longs("cls", [0], scalar: true)], ("axis", 1L));
        else
        {
            var weights = g.Node("Unsqueeze", [real, g.Longs("last", [-1])]); // [N, T, 1]
            var sum = g.Node("ReduceSum", [g.Node("Mul", [x, weights]), g.Longs("tokens", [1])], ("keepdims", 0L));
            var count = g.Node("ReduceSum", [weights, g.Longs("tokens", [1])], ("keepdims", 0L));
            pooled = g.Node("Div", [sum, g.Node("Max", [count, g.Scalar("at_least", 1e-9f)])]);
        }
        return g.Linear(pooled, w["text.proj.weight"], null, "text.proj");
    }
}
