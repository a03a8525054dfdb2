namespace SemiClip.Serve;

/// <summary>What <c>semiclip serve</c> was asked to show. With a run folder as <see cref="Model"/> and no
/// <see cref="Captions"/>, the run's own training data, label ratio and seed are used: the pages then show the
/// paired/unpaired split that run trained on.</summary>
public sealed record ServeOptions
{
    /// <summary>A run folder or a weights file.</summary>
    public required string Model { get; init; }
    public string? Vocab { get; init; }
    public string Activation { get; init; } = "auto";

    /// <summary>The captioned images (any caption format <c>train</c> reads).</summary>
    public string? Captions { get; init; }
    public string? ImageRoot { get; init; }
    public string? Split { get; init; }

    /// <summary>Keep this fraction of <see cref="Captions"/> captioned (the trainer's seeded split); the rest are
    /// shown as unpaired images whose hidden captions and classes score the pseudo-labels.</summary>
    public double? LabelRatio { get; init; }
    public int? Seed { get; init; }

    /// <summary>More images (a folder, recursive, or a list file): searched, and unpaired when not captioned.</summary>
    public string? Images { get; init; }

    /// <summary>An <c>embed --images</c> index whose embeddings are used instead of embedding those images
    /// again.</summary>
    public string? Index { get; init; }

    /// <summary>The JSONL caption file the Caption-next page appends to (default: <see cref="Captions"/> when it is
    /// JSONL).</summary>
    public string? SaveCaptions { get; init; }

    /// <summary>Class names for zero-shot labels: a file (one per line) or a comma-separated list; default: the
    /// caption file's labels.</summary>
    public string? Classes { get; init; }
    public string Templates { get; init; } = "remote-sensing";
    public string? Keywords { get; init; }
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 7860;
    public long MaxUploadBytes { get; init; } = 8 << 20;
    public string Device { get; init; } = "auto";
    public int Workers { get; init; } = 2;
}
