namespace SemiClip.Data;

/// <summary>One image and all its captions. <see cref="Source"/> locates it ("file:line") for errors.</summary>
public sealed record CaptionSample(string ImagePath, IReadOnlyList<string> Captions, string Source)
{
    public string? Split { get; init; }

    /// <summary>The image's class, when the caption file records one (a <c>label</c> field); used only
    /// for diagnostics and class-wise evaluation, never for training.</summary>
    public string? Label { get; init; }
}
