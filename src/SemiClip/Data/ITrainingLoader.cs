namespace SemiClip.Data;

/// <summary>What the training loop needs from a data source: tensor batches from a saved position on, the same
/// batches for the same (seed, position) whichever way the run got there. <see cref="TrainingDataLoader"/> reads
/// caption files with random access; <see cref="Shards.ShardedTrainingLoader"/> streams webdataset shards.</summary>
public interface ITrainingLoader : IDisposable
{
    LoaderOptions Options { get; }
    int BatchesPerEpoch { get; }
    int UnpairedPerStep { get; }

    /// <summary>Tensor batches from <paramref name="start"/> on, <paramref name="steps"/> of them.</summary>
    IEnumerable<TrainBatch> Batches(LoaderPosition start, long steps);
}
