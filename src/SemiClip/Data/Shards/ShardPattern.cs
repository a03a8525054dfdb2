using System.Globalization;
using System.Text.RegularExpressions;

namespace SemiClip.Data.Shards;

/// <summary>open_clip's way of naming many webdataset shards in one string: brace ranges
/// (<c>data/{000000..000099}.tar</c>, zero-padded to the width written), brace lists
/// (<c>{train,extra}-{0..9}.tar</c>) and several patterns joined by <c>::</c>. Written by hand because no
/// served package expands braces (webdataset uses Python's braceexpand).</summary>
public static partial class ShardPattern
{
    [GeneratedRegex(@"\{([^{}]*)\}")]
    private static partial Regex Brace();

    [GeneratedRegex(@"^(-?\d+)\.\.(-?\d+)$")]
    private static partial Regex Range();

    /// <summary>True when <paramref name="spec"/> names tar shards (so training streams them) rather than a caption
    /// file.</summary>
    public static bool IsShards(string? spec) =>
        spec is not null && spec.Split("::").All(p => p.Trim().EndsWith(".tar", StringComparison.OrdinalIgnoreCase));

    /// <summary>The shard paths, in the order written. Every path must exist: a missing one is named.</summary>
    public static List<string> ExpandExisting(string spec)
    {
        var paths = Expand(spec);
        foreach (var p in paths)
            if (!File.Exists(p))
                throw new FileNotFoundException($"{spec}: shard '{p}' not found.", p);
        return paths;
    }

    public static List<string> Expand(string spec)
    {
        var result = new List<string>();
        foreach (var part in spec.Split("::", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            ExpandOne(part, spec, result);
        if (result.Count == 0)
            throw new ArgumentException($"'{spec}' names no shards.");
        return result;
    }

    static void ExpandOne(string pattern, string spec, List<string> into)
    {
        var m = Brace().Match(pattern);
        if (!m.Success)
        {
            if (pattern.Contains('{') || pattern.Contains('}'))
                throw new ArgumentException($"'{spec}': unbalanced brace in '{pattern}'.");
            into.Add(pattern);
            return;
        }
        string head = pattern[..m.Index],
            tail = pattern[(m.Index + m.Length)..];
        foreach (var choice in Choices(m.Groups[1].Value, spec))
            ExpandOne(head + choice + tail, spec, into);
    }

    static IEnumerable<string> Choices(string body, string spec)
    {
        var range = Range().Match(body);
        if (!range.Success)
            return body.Split(',');
        string from = range.Groups[1].Value,
            to = range.Groups[2].Value;
        long a = long.Parse(from, CultureInfo.InvariantCulture),
            b = long.Parse(to, CultureInfo.InvariantCulture);
        if (b < a)
            throw new ArgumentException($"'{spec}': range {{{body}}} runs backwards.");
        if (b - a > 10_000_000)
            throw new ArgumentException($"'{spec}': range {{{body}}} is too large.");
        bool padded = from.Length > 1 && from.StartsWith('0') || to.Length > 1 && to.StartsWith('0');
        int width = padded ? Math.Max(from.Length, to.Length) : 0;
        return Enumerable
            .Range(0, (int)(b - a + 1))
            .Select(i => (a + i).ToString(CultureInfo.InvariantCulture).PadLeft(width, '0'));
    }
}
