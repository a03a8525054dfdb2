using System.Runtime.InteropServices;

namespace SemiClip.Runtime;

/// <summary>Recovery from an error raised inside LibTorch. TorchSharp reports those as
/// <see cref="ExternalException"/>; a transient one (the temporary-Scalar race that
/// <see cref="Tensors.Scalars"/> prevents in SemiClip's own calls, or one inside a library we do not
/// control) usually does not repeat, so a unit of work is retried once and the retry is reported.</summary>
public static class NativeFailure
{
    public static bool IsNative(Exception e) => e is ExternalException;

    /// <summary>Runs <paramref name="work"/>; after a native failure, reports it and runs it once more.</summary>
    public static T RetryOnce<T>(Func<T> work, Action<string> report, string what)
    {
        try
        {
            return work();
        }
        catch (Exception e) when (IsNative(e))
        {
            report($"{what}: LibTorch failed ({FirstLine(e.Message)}); retrying once");
            return work();
        }
    }

    public static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();
}
