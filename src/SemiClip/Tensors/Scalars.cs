using TorchSharp;
using static TorchSharp.torch;

namespace SemiClip.Tensors;

/// <summary>The only way SemiClip hands a number to LibTorch. TorchSharp 0.107 turns every number passed
/// to an operator (including the implicit <c>alpha = 1</c> of <c>a + b</c>) into a temporary
/// <see cref="Scalar"/> and passes its native handle on without keeping the managed object alive; a
/// garbage collection during the native call can finalise it and LibTorch then reads freed memory
/// ("corrupt scalar", dotnet/TorchSharp#1434). Here every Scalar either lives in a static field or is
/// disposed after the call, which keeps it reachable until the call has returned.
/// A test (ScalarSafetyTests) compiles the library, CLI and benchmarks with Roslyn and fails on any
/// implicit number-to-Scalar conversion or hazardous TorchSharp overload outside this file.</summary>
public static class Scalars
{
    /// <summary>Integer 1: a valid <c>alpha</c> for tensors of every dtype.</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary>a + b.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary>a + b·alpha.</summary>
    public static Tensor PlusScaled(this Tensor a, Tensor b, double alpha)
    {
        using var s = alpha.ToScalar();
        return a.add(b, s);
    }

    /// <summary>a + v.</summary>
    public static Tensor Plus(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.add(s, One);
    }

    /// <summary>a + v for integer tensors (v stays an integer).</summary>
    public static Tensor Plus(this Tensor a, long v)
    {
        using var s = v.ToScalar();
        return a.add(s, One);
    }

    /// <summary>v − a.</summary>
    public static Tensor SubtractedFrom(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.neg().add(s, One);
    }

    /// <summary>a · v.</summary>
    public static Tensor Times(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.mul(s);
    }

    /// <summary>a / v.</summary>
    public static Tensor DividedBy(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.div(s);
    }

    /// <summary>a².</summary>
    public static Tensor Squared(this Tensor a) => a.mul(a);

    /// <summary>max(a, min).</summary>
    public static Tensor AtLeast(this Tensor a, double min)
    {
        using var s = min.ToScalar();
        return a.clamp_min(s);
    }

    /// <summary>In place: a ← clamp(a, min, max).</summary>
    public static Tensor Clamp_(this Tensor a, double min, double max)
    {
        using var lo = min.ToScalar();
        using var hi = max.ToScalar();
        return a.clamp_(lo, hi);
    }

    /// <summary>a with <paramref name="value"/> where <paramref name="mask"/> is true.</summary>
    public static Tensor FilledWhere(this Tensor a, Tensor mask, double value)
    {
        using var s = value.ToScalar();
        return a.masked_fill(mask, s);
    }

    /// <summary>a &lt; v, elementwise.</summary>
    public static Tensor LessThan(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.lt(s);
    }

    /// <summary>In place: a ← a · v.</summary>
    public static Tensor Times_(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.mul_(s);
    }

    /// <summary>In place: a ← a / v.</summary>
    public static Tensor DividedBy_(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.div_(s);
    }

    /// <summary>In place: a ← a + v.</summary>
    public static Tensor Plus_(this Tensor a, double v)
    {
        using var s = v.ToScalar();
        return a.add_(s);
    }

    /// <summary>In place: a ← a + b · alpha.</summary>
    public static Tensor PlusScaled_(this Tensor a, Tensor b, double alpha)
    {
        using var s = alpha.ToScalar();
        return a.add_(b, s);
    }

    /// <summary>In place: a ← a + value · x · y.</summary>
    public static Tensor PlusProduct_(this Tensor a, Tensor x, Tensor y, double value)
    {
        using var s = value.ToScalar();
        return a.addcmul_(x, y, s);
    }

    /// <summary>In place: a ← a + value · x / y.</summary>
    public static Tensor PlusQuotient_(this Tensor a, Tensor x, Tensor y, double value)
    {
        using var s = value.ToScalar();
        return a.addcdiv_(x, y, s);
    }

    /// <summary>A 1-D tensor of <paramref name="length"/> copies of <paramref name="value"/>.</summary>
    public static Tensor Full(long length, double value, ScalarType dtype, Device device)
    {
        using var s = value.ToScalar();
        return full(length, s, dtype: dtype, device: device);
    }

    /// <summary>0, 1, …, n−1 as int64.</summary>
    public static Tensor Range(long n, Device device)
    {
        using var s = n.ToScalar();
        return arange(s, dtype: int64, device: device);
    }
}
