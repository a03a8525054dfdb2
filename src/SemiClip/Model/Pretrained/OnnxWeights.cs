using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace SemiClip.Model.Pretrained;

/// <summary>An ONNX file's weights (its float initialisers, as tensors by name) and its nodes in graph order, read with
/// the ONNX protobuf classes the exporter already uses. Importers map the weights onto SemiClip's towers from the
/// graph's structure (<see cref="ImageResNet.FromOnnx"/>, <see cref="BertTextTower.FromOnnx"/>).</summary>
public sealed class OnnxWeights : IDisposable
{
    readonly Dictionary<string, Tensor> _initialisers;

    public string Source { get; }
    public IReadOnlyList<NodeProto> Nodes { get; }
    public IReadOnlyDictionary<string, Tensor> Initialisers => _initialisers;

    OnnxWeights(string source, GraphProto graph)
    {
        Source = source;
        Nodes = graph.Node.ToList();
        _initialisers = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer)
            if (ToTensor(t) is { } tensor)
                _initialisers[t.Name] = tensor;
    }

    public static OnnxWeights Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: ONNX file not found.", path);
        return Read(File.ReadAllBytes(path), path);
    }

    /// <summary>Reads a model held in memory; <paramref name="source"/> names it in errors.</summary>
    public static OnnxWeights Read(byte[] bytes, string source)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{source}: not an ONNX model ({e.Message}).");
        }
        if (model.Graph is null || model.Graph.Node.Count == 0)
            throw new InvalidDataException($"{source}: the ONNX model has no graph.");
        return new OnnxWeights(source, model.Graph);
    }

    /// <summary>The initialiser <paramref name="name"/>, or an error naming the file.</summary>
    public Tensor Get(string name) =>
        _initialisers.TryGetValue(name, out var t)
            ? t
            : throw new InvalidDataException($"{Source}: no weight named '{name}' in the graph.");

    public bool Has(string name) => _initialisers.ContainsKey(name);

    /// <summary>An integer-list attribute of a node (pads, strides), or null when absent.</summary>
    public static long[]? Ints(NodeProto node, string name) =>
        node.Attribute.FirstOrDefault(a => a.Name == name)?.Ints.ToArray();

    /// <summary>A float attribute (epsilon), or <paramref name="fallback"/>.</summary>
    public static float Float(NodeProto node, string name, float fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.F : fallback;

    static Tensor? ToTensor(TensorProto t)
    {
        var shape = t.Dims.ToArray();
        switch ((TensorProto.Types.DataType)t.DataType)
        {
            case TensorProto.Types.DataType.Float:
                var floats = t.RawData.Length > 0
                    ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray()
                    : t.FloatData.ToArray();
                return tensor(floats, shape);
            case TensorProto.Types.DataType.Int64:
                var longs = t.RawData.Length > 0
                    ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(t.RawData.Span).ToArray()
                    : t.Int64Data.ToArray();
                return tensor(longs, shape);
            default:
                return null; // no importer reads other types
        }
    }

    public void Dispose()
    {
        foreach (var t in _initialisers.Values)
            t.Dispose();
    }
}
