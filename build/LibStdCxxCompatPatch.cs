// Makes TorchSharp's native libLibTorchSharp.so load on systems whose libstdc++ predates GCC 13
// (Debian 12, Ubuntu 22.04). The library's single GLIBCXX_3.4.32 import is
// std::ios_base_library_init(), a no-argument hook GCC 13 emits for iostream start-up that older
// libstdc++ performs itself. We point that import at an existing no-argument function
// (std::get_new_handler, same string table, shorter name), mark its version "global", and make the
// GLIBCXX_3.4.32 requirement weak so the dynamic loader no longer refuses the file.
//
// This one file is compiled twice: by MSBuild's RoslynCodeTaskFactory as a build task (see
// build/SemiClip.Native.targets) and into the SemiClip library, whose `doctor` command reports
// whether the loaded copy was patched. Both use only the BCL, hence the plain byte parsing.
#nullable enable
using System;
using System.IO;
using System.Text;

namespace SemiClip.Build
{
    /// <summary>Unpatched: still imports GLIBCXX_3.4.32 strictly. Patched: changed by this call.
    /// AlreadyPatched: an earlier build changed it. NotApplicable: not an ELF file with that import.</summary>
    public enum PatchState
    {
        Unpatched,
        Patched,
        AlreadyPatched,
        NotApplicable,
    }

    public static class LibStdCxxCompatPatch
    {
        public const string MissingVersion = "GLIBCXX_3.4.32";
        public const string MissingSymbol = "_ZSt21ios_base_library_initv";
        public const string ReplacementSymbol = "_ZSt15get_new_handlerv";
        const ushort VerFlagWeak = 2;
        const uint ShtDynsym = 11,
            ShtGnuVerneed = 0x6ffffffe,
            ShtGnuVersym = 0x6fffffff;

        static readonly string[] SystemLibStdCxxCandidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6",
            "/lib64/libstdc++.so.6",
            "/usr/lib/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
        };

        /// <summary>The system libstdc++ path, or null when none is found (not Linux).</summary>
        public static string? FindSystemLibStdCxx()
        {
            foreach (var p in SystemLibStdCxxCandidates)
                if (File.Exists(p))
                    return p;
            return null;
        }

        /// <summary>True when the system libstdc++ defines GLIBCXX_3.4.32, so no patch is wanted.</summary>
        public static bool SystemHasVersion(string libStdCxxPath)
        {
            var needle = Encoding.ASCII.GetBytes(MissingVersion + "\0");
            return IndexOf(File.ReadAllBytes(libStdCxxPath), needle, 0) >= 0;
        }

        /// <summary>Reads the file and says whether it still needs, or already has, the patch.</summary>
        public static PatchState Inspect(string soPath) => Analyse(File.ReadAllBytes(soPath), apply: false);

        /// <summary>Patches the file in place (written to a temporary file and renamed, so hard links
        /// such as a NuGet cache entry are never modified). Idempotent.</summary>
        public static PatchState Apply(string soPath)
        {
            var bytes = File.ReadAllBytes(soPath);
            var state = Analyse(bytes, apply: true);
            if (state != PatchState.Patched)
                return state;
            var tmp = soPath + ".patching";
            File.WriteAllBytes(tmp, bytes);
            File.Replace(tmp, soPath, null); // a rename on Unix: readers see the old or the new file
            return state;
        }

        static PatchState Analyse(byte[] b, bool apply)
        {
            if (
                b.Length < 64
                || b[0] != 0x7f
                || b[1] != (byte)'E'
                || b[2] != (byte)'L'
                || b[3] != (byte)'F'
                || b[4] != 2 /* 64-bit */
                || b[5] != 1 /* little-endian */
            )
                return PatchState.NotApplicable;
            long shoff = (long)U64(b, 0x28);
            int shentsize = U16(b, 0x3A),
                shnum = U16(b, 0x3C);
            long dynsymOff = -1,
                dynsymSize = 0,
                dynstrOff = -1,
                versymOff = -1,
                verneedOff = -1;
            int verneedCount = 0;
            for (int i = 0; i < shnum; i++)
            {
                long sh = shoff + (long)i * shentsize;
                uint type = U32(b, sh + 4);
                long off = (long)U64(b, sh + 0x18),
                    size = (long)U64(b, sh + 0x20);
                uint link = U32(b, sh + 0x28),
                    info = U32(b, sh + 0x2C);
                if (type == ShtDynsym)
                {
                    dynsymOff = off;
                    dynsymSize = size;
                    dynstrOff = (long)U64(b, shoff + (long)link * shentsize + 0x18);
                }
                else if (type == ShtGnuVersym)
                    versymOff = off;
                else if (type == ShtGnuVerneed)
                {
                    verneedOff = off;
                    verneedCount = (int)info;
                }
            }
            if (dynsymOff < 0 || versymOff < 0 || verneedOff < 0)
                return PatchState.NotApplicable;

            // The weak flag on the GLIBCXX_3.4.32 requirement.
            long auxFlagsAt = -1;
            bool weak = false;
            long vn = verneedOff;
            for (int n = 0; n < verneedCount; n++)
            {
                long aux = vn + U32(b, vn + 8);
                for (int a = 0; a < U16(b, vn + 2); a++)
                {
                    if (CString(b, dynstrOff + U32(b, aux + 8)) == MissingVersion)
                    {
                        auxFlagsAt = aux + 4;
                        weak = (U16(b, auxFlagsAt) & VerFlagWeak) != 0;
                    }
                    aux += U32(b, aux + 12);
                }
                vn += U32(b, vn + 12);
            }

            // The undefined import, if still there.
            long symIndex = -1;
            for (long s = 0; s < dynsymSize / 24; s++)
            {
                long sym = dynsymOff + s * 24;
                if (U16(b, sym + 6) == 0 && CString(b, dynstrOff + U32(b, sym)) == MissingSymbol)
                {
                    symIndex = s;
                    break;
                }
            }
            if (symIndex < 0 && (auxFlagsAt < 0 || weak))
                return auxFlagsAt < 0 && symIndex < 0 ? PatchState.NotApplicable : PatchState.AlreadyPatched;
            if (!apply)
                return PatchState.Unpatched;

            if (symIndex >= 0)
            {
                long nameAt = dynstrOff + U32(b, dynsymOff + symIndex * 24);
                var replacement = Encoding.ASCII.GetBytes(ReplacementSymbol);
                Array.Clear(b, (int)nameAt, MissingSymbol.Length);
                Array.Copy(replacement, 0, b, nameAt, replacement.Length);
                W16(b, versymOff + symIndex * 2, 1); // VER_NDX_GLOBAL
            }
            if (auxFlagsAt >= 0)
                W16(b, auxFlagsAt, (ushort)(U16(b, auxFlagsAt) | VerFlagWeak));
            return PatchState.Patched;
        }

        static ushort U16(byte[] b, long o) => (ushort)(b[o] | b[o + 1] << 8);

        static uint U32(byte[] b, long o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);

        static ulong U64(byte[] b, long o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;

        static void W16(byte[] b, long o, ushort v)
        {
            b[o] = (byte)v;
            b[o + 1] = (byte)(v >> 8);
        }

        static string CString(byte[] b, long o)
        {
            long e = o;
            while (e < b.Length && b[e] != 0)
                e++;
            return Encoding.ASCII.GetString(b, (int)o, (int)(e - o));
        }

        static int IndexOf(byte[] hay, byte[] needle, int start)
        {
            for (int i = start; i <= hay.Length - needle.Length; i++)
            {
                int j = 0;
                while (j < needle.Length && hay[i + j] == needle[j])
                    j++;
                if (j == needle.Length)
                    return i;
            }
            return -1;
        }
    }

#if !SEMICLIP_LIBRARY
    /// <summary>MSBuild task: patches every libLibTorchSharp.so under <see cref="Directory"/> when the
    /// system libstdc++ lacks GLIBCXX_3.4.32; does nothing on newer systems or other OSes.</summary>
    public class PatchLibTorchSharpForOldLibStdCxx : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public string Directory { get; set; } = "";

        public override bool Execute()
        {
            var lib = LibStdCxxCompatPatch.FindSystemLibStdCxx();
            if (lib == null || LibStdCxxCompatPatch.SystemHasVersion(lib) || !System.IO.Directory.Exists(Directory))
                return true;
            foreach (
                var so in System.IO.Directory.EnumerateFiles(
                    Directory,
                    "libLibTorchSharp.so",
                    SearchOption.AllDirectories
                )
            )
            {
                var state = LibStdCxxCompatPatch.Apply(so);
                if (state == PatchState.Patched)
                    Log.LogMessage(
                        Microsoft.Build.Framework.MessageImportance.High,
                        $"SemiClip: patched {so} for {lib} (no {LibStdCxxCompatPatch.MissingVersion})"
                    );
            }
            return true;
        }
    }
#endif
}
