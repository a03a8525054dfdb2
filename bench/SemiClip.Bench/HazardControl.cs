using System.Diagnostics;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace SemiClip.Bench;

/// <summary>The stress benchmark's control arm: TorchSharp's hazardous overloads used directly, as SemiClip
/// used them before its Scalars helpers (operator + with its implicit alpha, a number operand, an implicit
/// conversion). This file is deliberately exempt from the source scan (ScalarSafetyTests): it exists to
/// show that the harness provokes the crash.</summary>
public static class HazardControl
{
    public sealed record Result(long Iterations, long Failures, string? FirstError);

    public static Result Run(TimeSpan duration, GcPressure pressure)
    {
        long iterations = 0,
            failures = 0;
        string? first = null;
        var clock = Stopwatch.StartNew();
        using var a = randn(64, 64);
        using var b = randn(64, 64);
        while (clock.Elapsed < duration)
        {
            try
            {
                using var scope = NewDisposeScope();
                for (int i = 0; i < 100; i++, iterations++)
                {
                    var c = a + b;
                    var d = c * 2.0;
                    var e = d.clamp_min(0);
                    var f = 1.0 - e;
                    _ = f.add(a);
                }
            }
            catch (ExternalException e)
            {
                failures++;
                first ??= e.Message.Split('\n')[0];
            }
        }
        return new Result(iterations, failures, first);
    }
}
