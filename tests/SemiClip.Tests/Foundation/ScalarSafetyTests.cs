using SemiClip.Tests.Support;

namespace SemiClip.Tests.Foundation;

/// <summary>The rule that keeps TorchSharp 0.107's temporary-Scalar crash out (issue: "No random native
/// crash"): no code in the library, CLI or benchmarks converts a number to a Scalar implicitly or calls a
/// TorchSharp member that does so inside; numbers reach LibTorch through <c>SemiClip.Tensors.Scalars</c>.</summary>
public class ScalarSafetyTests
{
    // Scalars.cs is the safe helper set; HazardControl.cs is the stress benchmark's control arm, which uses
    // the hazardous overloads on purpose to show that the stress harness provokes the crash.
    static readonly string[] Helpers = ["Scalars.cs", "HazardControl.cs"];

    [Fact]
    public void NoTemporaryScalarsInTheRepository()
    {
        var findings = ScalarHazardScanner.Scan(ScalarHazardScanner.RepositoryProjects(), Helpers);
        Assert.True(
            findings.Count == 0,
            $"{findings.Count} temporary-Scalar hazard(s):\n" + string.Join("\n", findings.Take(200))
        );
    }

    [Fact]
    public void TheScannerFindsEachKindOfHazard()
    {
        var dir = Directory.CreateTempSubdirectory("scalar-scan");
        try
        {
            var file = Path.Combine(dir.FullName, "Bad.cs");
            File.WriteAllText(
                file,
                """
                using static TorchSharp.torch;
                static class Bad
                {
                    static Tensor A(Tensor x, Tensor y) => x + y;              // operator +: alpha = 1 inside
                    static Tensor B(Tensor x) => x * 2.0;                      // number operand
                    static Tensor C(Tensor x) => x.clamp_min(0);               // implicit conversion
                    static Tensor D(Tensor x, Tensor y) => x.add(y);           // add(Tensor): alpha = 1 inside
                    static Tensor E(long n) => full(n, 0.5f);                  // implicit conversion
                    static Tensor F(Tensor x, Tensor y) => x * y - x;          // safe: no Scalar at all
                }
                """
            );
            var findings = ScalarHazardScanner.Scan([new ScalarHazardScanner.Project("Bad", [file])], []);
            Assert.Equal(new[] { 4, 5, 6, 7, 8 }, findings.Select(f => f.Line).Distinct().Order().ToArray());
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
