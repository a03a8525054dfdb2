using SkiaSharp;

namespace SemiClip.Data.Images;

/// <summary>How thoroughly <see cref="ImageCheck"/> looks at each image.</summary>
public enum ImageCheckDepth
{
    None,
    Headers,
    Full,
}

/// <summary>The pre-flight pass over every image a run, an inspection or a shard will use, so a file that is not an
/// image, or (with <see cref="ImageCheckDepth.Full"/>) a truncated one, is found in seconds before training, not when
/// a batch draws it hours in. Returns every problem at once, each naming the file.</summary>
public static class ImageCheck
{
    public static ImageCheckDepth ParseDepth(string text) =>
        text switch
        {
            "headers" => ImageCheckDepth.Headers,
            "full" => ImageCheckDepth.Full,
            "none" => ImageCheckDepth.None,
            _ => throw new ArgumentException($"image check '{text}' is not headers, full or none."),
        };

    /// <param name="progress">Called with (checked, total) from worker threads, now and then.</param>
    public static IReadOnlyList<BadInput> Run(
        IReadOnlyList<string> paths,
        ImageCheckDepth depth,
        int workers = 2,
        Action<long, long>? progress = null
    )
    {
        var problems = new BadInput?[paths.Count];
        if (depth == ImageCheckDepth.None)
            return [];
        long done = 0;
        Parallel.For(0, paths.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers) }, i =>
        {
            problems[i] = Problem(paths[i], depth) is { } p ? new BadInput(paths[i], p) : null;
            long n = Interlocked.Increment(ref done);
            if (n % 64 == 0 || n == paths.Count)
                progress?.Invoke(n, paths.Count);
        });
        return problems.OfType<BadInput>().ToList();
    }

    /// <summary>What is wrong with one image file, or null when it passes.</summary>
    public static string? Problem(string path, ImageCheckDepth depth)
    {
        try
        {
            if (!File.Exists(path))
                return "image file does not exist.";
            if (depth == ImageCheckDepth.Full)
            {
                using var _ = ImageDecoder.Decode(path);
                return null;
            }
            var head = new byte[4];
            using (var f = File.OpenRead(path))
                if (f.Read(head, 0, 4) < 4)
                    return "not an image (fewer than 4 bytes).";
            if (head[0] == 'I' && head[1] == 'I' && head[2] == 42 || head[0] == 'M' && head[1] == 'M' && head[3] == 42)
                return null; // TIFF
            using var data = SKData.Create(path);
            using var codec = data is null ? null : SKCodec.Create(data);
            if (codec is null || codec.Info.Width <= 0 || codec.Info.Height <= 0)
                return "not a decodable image (unknown or corrupt format).";
            ImageDecoder.CheckSize(path, codec.Info.Width, codec.Info.Height);
            return null;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            var message = e.Message;
            return message.StartsWith(path + ": ", StringComparison.Ordinal) ? message[(path.Length + 2)..] : message;
        }
    }

    /// <summary>The pre-flight pass as train, data inspect and shard run it: under fail-fast every problem at once in
    /// one error (ending with <paramref name="howToGoOn"/>); under skip each is reported and left out. Returns the bad
    /// images.</summary>
    public static HashSet<string> Screen(
        IReadOnlyList<string> images,
        ImageCheckDepth depth,
        BadInputReport report,
        string howToGoOn,
        int workers = 2,
        Action<long, long>? progress = null
    )
    {
        var problems = Run(images.Distinct(StringComparer.Ordinal).ToList(), depth, workers, progress);
        if (problems.Count > 0 && report.Policy == BadInputPolicy.FailFast)
            throw new InvalidDataException(Describe(problems, howToGoOn));
        foreach (var p in problems)
            report.Report(p.Location, p.Problem);
        return problems.Select(p => p.Location).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The problems as one message: all of them (up to a screenful), then how to go on.</summary>
    public static string Describe(IReadOnlyList<BadInput> problems, string howToSkip)
    {
        const int shown = 20;
        var lines = problems.Take(shown).Select(p => $"  {p}");
        var more = problems.Count > shown ? $"\n  … and {problems.Count - shown} more" : "";
        return $"{problems.Count} image(s) cannot be used:\n{string.Join("\n", lines)}{more}\n{howToSkip}";
    }
}
