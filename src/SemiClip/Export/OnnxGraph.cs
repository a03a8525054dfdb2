using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace SemiClip.Export;

/// <summary>Builds one ONNX graph node by node. TorchSharp cannot trace a module to ONNX, so SemiClip writes the graph
/// of each tower itself from its weights; OnnxSharp supplies the ONNX protobuf classes. Names are made unique here, so
/// the tower code reads like the forward pass it mirrors.</summary>
public sealed class OnnxGraph(string name, bool halfWeights = false)
{
    public const int Opset = 17;
    const int Float = (int)TensorProto.Types.DataType.Float,
        Half = (int)TensorProto.Types.DataType.Float16;
    public const int Int64 = (int)TensorProto.Types.DataType.Int64;

    readonly GraphProto _graph = new() { Name = name };
    readonly Dictionary<string, int> _used = new(StringComparer.Ordinal);

    /// <summary>fp16 weights (half the file); the graph casts them back to float32 where they enter, so inputs,
    /// outputs and every computation stay float32 and every ONNX Runtime kernel applies.</summary>
    public bool HalfWeights { get; } = halfWeights;

    string Unique(string hint)
    {
        var clean = hint.Replace('.', '_');
        int n = _used.TryGetValue(clean, out var seen) ? seen + 1 : 0;
        _used[clean] = n;
        return n == 0 ? clean : $"{clean}_{n}";
    }

    /// <summary>A weight as an initializer (float32, or fp16 cast back to float32 in the graph).</summary>
    public string Weight(string hint, Tensor value)
    {
        using var scope = NewDisposeScope();
        var stored = value.detach().cpu().to(HalfWeights ? float16 : float32).contiguous();
        var tensor = new TensorProto
        {
            Name = Unique(hint),
            DataType = HalfWeights ? Half : Float,
            RawData = ByteString.CopyFrom(stored.bytes),
        };
        tensor.Dims.AddRange(stored.shape);
        _graph.Initializer.Add(tensor);
        return HalfWeights ? Node("Cast", [tensor.Name], ("to", (long)Float)) : tensor.Name;
    }

    /// <summary>An int64 constant (shapes, indices, axes).</summary>
    public string Longs(string hint, long[] values, bool scalar = false)
    {
        var tensor = new TensorProto { Name = Unique(hint), DataType = Int64 };
        if (!scalar)
            tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        _graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>A float32 constant of any shape (a scale, a mask), never halved.</summary>
    public string Floats(string hint, float[] values, params long[] dims)
    {
        var tensor = new TensorProto { Name = Unique(hint), DataType = Float };
        tensor.Dims.AddRange(dims);
        tensor.FloatData.AddRange(values);
        _graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    public string Scalar(string hint, float value) => Floats(hint, [value]);

    /// <summary>Adds a node; returns its (first) output's name. Attributes: long, float, long[], float[] or
    /// string.</summary>
    public string Node(string op, string[] inputs, params (string Name, object Value)[] attributes)
    {
        var output = Unique(op.ToLowerInvariant());
        var node = new NodeProto { OpType = op, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        foreach (var (key, value) in attributes)
        {
            var a = new AttributeProto { Name = key };
            switch (value)
            {
                case long i:
                    a.Type = AttributeProto.Types.AttributeType.Int;
                    a.I = i;
                    break;
                case int i:
                    a.Type = AttributeProto.Types.AttributeType.Int;
                    a.I = i;
                    break;
                case float f:
                    a.Type = AttributeProto.Types.AttributeType.Float;
                    a.F = f;
                    break;
                case long[] ints:
                    a.Type = AttributeProto.Types.AttributeType.Ints;
                    a.Ints.AddRange(ints);
                    break;
                case float[] floats:
                    a.Type = AttributeProto.Types.AttributeType.Floats;
                    a.Floats.AddRange(floats);
                    break;
                case string s:
                    a.Type = AttributeProto.Types.AttributeType.String;
                    a.S = ByteString.CopyFromUtf8(s);
                    break;
                default:
                    throw new ArgumentException(
                        $"ONNX attribute {key}: unsupported value type {value.GetType().Name}."
                    );
            }
            node.Attribute.Add(a);
        }
        _graph.Node.Add(node);
        return output;
    }

    /// <summary>Declares a graph input or output; a dimension is a size (long) or a symbolic name (string).</summary>
    static ValueInfoProto Value(string name, int elementType, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(
                d is string symbol
                    ? new TensorShapeProto.Types.Dimension { DimParam = symbol }
                    : new TensorShapeProto.Types.Dimension
                    {
                        DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture),
                    }
            );
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape },
            },
        };
    }

    public string Input(string name, int elementType, params object[] dims)
    {
        _graph.Input.Add(Value(name, elementType, dims));
        return name;
    }

    public void Output(string from, string name, params object[] dims)
    {
        Node("Identity", [from]);
        _graph.Node[^1].Output[0] = name;
        _graph.Output.Add(Value(name, Float, dims));
    }

    public const int FloatType = Float;

    public ModelProto ToModel(string producerVersion)
    {
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "SemiClip",
            ProducerVersion = producerVersion,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return model;
    }

    // The operations the towers are made of, in PyTorch's terms.

    /// <summary>x @ Wᵀ + b for a PyTorch Linear weight [out, in].</summary>
    public string Linear(string x, Tensor weight, Tensor? bias, string hint)
    {
        var y = Node("MatMul", [x, Weight(hint + ".weight_t", weight.t())]);
        return bias is null ? y : Node("Add", [y, Weight(hint + ".bias", bias)]);
    }

    public string LayerNorm(string x, Tensor weight, Tensor bias, string hint, double eps = 1e-5) =>
        Node(
            "LayerNormalization",
            [x, Weight(hint + ".weight", weight), Weight(hint + ".bias", bias)],
            ("axis", -1L),
            ("epsilon", (float)eps)
        );

    /// <summary>GELU as erf (exact, as PyTorch's default), or CLIP's QuickGELU x·σ(1.702x).</summary>
    public string Activation(string x, bool quickGelu)
    {
        if (quickGelu)
            return Node("Mul", [x, Node("Sigmoid", [Node("Mul", [x, Scalar("quick_gelu_scale", 1.702f)])])]);
        var erf = Node("Erf", [Node("Mul", [x, Scalar("inv_sqrt2", (float)(1 / Math.Sqrt(2)))])]);
        return Node("Mul", [Node("Mul", [x, Scalar("half", 0.5f)]), Node("Add", [erf, Scalar("one", 1f)])]);
    }

    public string Reshape(string x, params long[] shape) => Node("Reshape", [x, Longs("shape", shape)]);

    public string Transpose(string x, params long[] perm) => Node("Transpose", [x], ("perm", perm));
}
