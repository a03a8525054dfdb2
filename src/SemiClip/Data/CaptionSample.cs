namespace SemiClip.Data;

/// <summary>One image and all its captions. <see cref="Source"/> locates it ("file:line") for errors.</summary>
public sealed record CaptionSample(string ImagePath, IReadOnlyList<string> Captions, string Source)
{
    public string? Split { get; init; }
}
