using System.Diagnostics;
using System.Globalization;

namespace SemiClip.Bench;

/// <summary>This process's peak resident memory (Linux VmHWM, which covers LibTorch's native allocations, unlike the
/// managed heap's counters), resettable so one process can report a peak per measurement; and the GPU memory
/// nvidia-smi attributes to it.</summary>
public static class ProcessMemory
{
    public static double PeakResidentMb()
    {
        var line = File.ReadLines("/proc/self/status")
            .FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null
            ? double.NaN
            // "VmHWM:\t 123456 kB": a tab, then the number padded to eight columns, so split on both.
            : long.Parse(
                line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1],
                CultureInfo.InvariantCulture
            ) / 1024.0;
    }

    /// <summary>Starts a new peak at the current resident size (writing 5 to clear_refs resets VmHWM); returns false
    /// where the kernel refuses, so the caller reports the peak as cumulative.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>GPU memory this process holds by nvidia-smi (LibTorch's caching allocator keeps what it once
    /// reserved, so this is the largest reserve so far), or NaN without nvidia-smi.</summary>
    public static double GpuUsedMb()
    {
        try
        {
            using var smi = Process.Start(
                new ProcessStartInfo("nvidia-smi", "--query-compute-apps=pid,used_memory --format=csv,noheader,nounits")
                {
                    RedirectStandardOutput = true,
                }
            )!;
            var text = smi.StandardOutput.ReadToEnd();
            smi.WaitForExit();
            int pid = Environment.ProcessId;
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = line.Split(',', StringSplitOptions.TrimEntries);
                if (parts.Length == 2 && parts[0] == pid.ToString(CultureInfo.InvariantCulture))
                    return double.Parse(parts[1], CultureInfo.InvariantCulture);
            }
            // Inside some containers nvidia-smi lists no processes; the whole card's use is the next best reading.
            using var all = Process.Start(
                new ProcessStartInfo("nvidia-smi", "--query-gpu=memory.used --format=csv,noheader,nounits")
                {
                    RedirectStandardOutput = true,
                }
            )!;
            var used = all.StandardOutput.ReadToEnd().Split('\n')[0].Trim();
            all.WaitForExit();
            return double.Parse(used, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or FormatException or IOException)
        {
            return double.NaN;
        }
    }
}
