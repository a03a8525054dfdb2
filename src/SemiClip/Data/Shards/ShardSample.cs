namespace SemiClip.Data.Shards;

/// <summary>Where one member's bytes lie inside its tar file.</summary>
public readonly record struct ShardMember(long Offset, long Length, string Extension);

/// <summary>One webdataset sample as read from the tar headers alone: its key and where its image and
/// caption members are. Holding handles instead of bytes is what keeps the shuffle buffer small and lets a
/// resumed run skip to its position by reading headers only.</summary>
public sealed record ShardSample(string Shard, string Key, ShardMember Image, ShardMember? Text, ShardMember? Json)
{
    /// <summary>A caption member exists (.txt, or .json that should hold "caption"/"captions").</summary>
    public bool HasCaption => Text is not null || Json is not null;
    public string Location => $"{Shard}:{Key}";
}
