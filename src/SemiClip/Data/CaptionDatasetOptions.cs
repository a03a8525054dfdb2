namespace SemiClip.Data;

/// <summary>How to read a caption file. Columns and separator matter for CSV/TSV (open_clip's defaults: <c>filepath</c>
/// and <c>title</c>); <see cref="ImageRoot"/> defaults to the file's folder; <see cref="Split"/> keeps only Karpathy
/// entries of that split (the other formats have no split field and ignore it).</summary>
public sealed record CaptionDatasetOptions
{
    public string ImageColumn { get; init; } = "filepath";
    public string CaptionColumn { get; init; } = "title";
    public string? Separator { get; init; }
    public string? ImageRoot { get; init; }
    public string? Split { get; init; }
    public bool CheckImagesExist { get; init; } = true;
}
