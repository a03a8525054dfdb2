using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using SemiClip.Tests.Support;

namespace SemiClip.Tests.Export;

/// <summary>The README's Deploy program, compiled as written against SemiClip.Onnx and run on an exported
/// folder.</summary>
public class DeployProgramTests(TrainedRunFixture f) : IClassFixture<TrainedRunFixture>
{
    static string ReadmeProgram()
    {
        var readme = File.ReadAllText(Path.Combine(SharedFiles.RepoRoot, "README.md"));
        int start = readme.IndexOf("A complete program", StringComparison.Ordinal);
        Assert.True(start >= 0, "the README has no Deploy program");
        int open = readme.IndexOf("```csharp\n", start, StringComparison.Ordinal) + "```csharp\n".Length;
        return readme[open..readme.IndexOf("```", open, StringComparison.Ordinal)];
    }

    [Fact]
    public void TheReadmesDeployProgramCompilesAndRanksImages()
    {
        // The SDK's implicit usings for a console project, as `dotnet new console` has them.
        const string implicitUsings =
            "global using System; global using System.IO; global using System.Linq; global using "
            + "System.Collections.Generic;";
        var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(p =>
                Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal)
                || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll"
            );
        var references = trusted
            .Concat(
                new[] { "SemiClip.Onnx.dll", "Microsoft.ML.OnnxRuntime.dll" }.Select(n =>
                    Path.Combine(AppContext.BaseDirectory, n)
                )
            )
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create(
            "Deploy",
            [
                CSharpSyntaxTree.ParseText(ReadmeProgram(), path: "Program.cs"),
                CSharpSyntaxTree.ParseText(implicitUsings),
            ],
            references,
            new CSharpCompilationOptions(
                OutputKind.ConsoleApplication,
                nullableContextOptions: NullableContextOptions.Enable
            )
        );
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        Assert.True(
            emitted.Success,
            string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error))
        );

        var exported = f.Dir.File("deploy-program");
        var (code, output) = CliProcess.Run("export", "--model", f.Run, "--format", "onnx", "--out", exported);
        Assert.True(code == 0, output);
        var program = Assembly.Load(image.ToArray());
        var printed = new StringWriter();
        var console = Console.Out;
        Console.SetOut(printed);
        try
        {
            program.EntryPoint!.Invoke(null, [new[] { exported, f.Dir.File("data/test"), "a river" }]);
        }
        finally
        {
            Console.SetOut(console);
        }

        var lines = printed
            .ToString()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.Contains(".png"))
            .ToList();
        Assert.Equal(5, lines.Count);
        // The program's best match is the image SemiClip's own model ranks first for the query.
        using var bundle = SemiClip.Model.ModelBundle.Load(f.Run);
        var images = Directory.GetFiles(f.Dir.File("data/test"), "*.png", SearchOption.AllDirectories).Order().ToList();
        var embedder = new SemiClip.Evaluation.Embedder(bundle.Model, bundle.Tokenizer, TorchSharp.torch.CPU, 16, 1);
        using var features = embedder.EncodeImages(images);
        using var query = embedder.EncodeTexts(["a river"]);
        using var scores = features.matmul(query.t()).squeeze(1);
        var best = images[(int)scores.argmax().item<long>()];
        Assert.EndsWith(best, lines[0].Trim());
    }
}
