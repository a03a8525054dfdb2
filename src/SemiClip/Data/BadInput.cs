namespace SemiClip.Data;

/// <summary>What to do with a bad file, row or image: stop with an error naming it (default), or skip
/// it, count it, and list it in the run log. Never silently.</summary>
public enum BadInputPolicy
{
    FailFast,
    Skip,
}

/// <summary>A problem found in the input, located by file and line/row/entry.</summary>
public sealed record BadInput(string Location, string Problem)
{
    public override string ToString() => $"{Location}: {Problem}";
}

/// <summary>Raised under <see cref="BadInputPolicy.FailFast"/>: one bad input, or every bad row of a file at
/// once.</summary>
public sealed class BadInputException(IReadOnlyList<BadInput> problems) : Exception(Describe(problems))
{
    /// <summary>How many bad inputs a message lists before it says how many more there are.</summary>
    public const int Listed = 20;

    public BadInputException(BadInput problem)
        : this([problem]) { }

    /// <summary>The first bad input.</summary>
    public BadInput Problem => Problems[0];

    public IReadOnlyList<BadInput> Problems { get; } = problems;

    static string Describe(IReadOnlyList<BadInput> problems) =>
        problems.Count == 1
            ? problems[0].ToString()
            : $"{problems.Count} bad inputs (fix or remove them, or skip them with skip_bad):\n"
                + string.Join("\n", problems.Take(Listed).Select(p => $"  {p}"))
                + (problems.Count > Listed ? $"\n  … and {problems.Count - Listed} more" : "");
}

/// <summary>Collects skipped inputs (thread-safe: image decoding reports from worker threads).</summary>
public sealed class BadInputReport(BadInputPolicy policy)
{
    readonly List<BadInput> _items = new();
    public BadInputPolicy Policy { get; } = policy;

    public IReadOnlyList<BadInput> Items
    {
        get
        {
            lock (_items)
                return _items.ToList();
        }
    }
    public int Count
    {
        get
        {
            lock (_items)
                return _items.Count;
        }
    }

    /// <summary>Throws under fail-fast; otherwise records the problem so the caller can skip it.</summary>
    public void Report(string location, string problem)
    {
        // Errors from the decoder already start with the file; the location is said once.
        if (problem.StartsWith(location + ": ", StringComparison.Ordinal))
            problem = problem[(location.Length + 2)..];
        var bad = new BadInput(location, problem);
        if (Policy == BadInputPolicy.FailFast)
            throw new BadInputException(bad);
        lock (_items)
            if (!_items.Contains(bad))
                _items.Add(bad); // an image met again in a later epoch is listed once
    }
}
