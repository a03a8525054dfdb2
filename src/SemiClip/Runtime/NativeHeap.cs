using System.Runtime.InteropServices;

namespace SemiClip.Runtime;

/// <summary>How the C heap under LibTorch's CPU tensors hands memory back. glibc serves every allocation above 32 MiB
/// with its own mmap and unmaps it when freed, so a training step at 224 px, whose activations are such blocks, has
/// the kernel map and zero all of them again on every step (measured in <c>bench speed</c>: a ViT-B/32 CLIP step
/// 35.3 s by default, 25.2 s with the heap keeping freed memory). This is process-wide, so only a program's entry
/// point (the CLI, the benchmarks) asks for it, never the library on its own.</summary>
public static class NativeHeap
{
    const int MTrimThreshold = -1,
        MMmapMax = -4;

    /// <summary>Serves large blocks from the heap and keeps freed memory for the next step instead of returning it to
    /// the kernel (glibc's <c>M_MMAP_MAX = 0</c>, <c>M_TRIM_THRESHOLD = -1</c>, as <c>MALLOC_MMAP_MAX_=0</c> does
    /// from the environment). The process then holds its peak for its lifetime. Does nothing off glibc, or when
    /// <c>SEMICLIP_KEEP_FREED_MEMORY=0</c>. Returns whether the setting took.</summary>
    public static bool KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("SEMICLIP_KEEP_FREED_MEMORY") == "0")
            return false;
        try
        {
            return mallopt(MMmapMax, 0) == 1 && mallopt(MTrimThreshold, -1) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc (musl has no mallopt): its allocator's own behaviour stays
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int mallopt(int param, int value);
}
