using System.Threading.Channels;

namespace SemiClip.Data;

/// <summary>Runs a batch builder ahead of the consumer on a background task: batches are built in order
/// (each one in parallel across <c>workers</c> threads by the builder) and handed over through a bounded
/// channel, so decode and augmentation overlap the model's step without unbounded memory.</summary>
public sealed class PrefetchingBatcher<T> : IDisposable
{
    readonly Channel<T> _channel;
    readonly CancellationTokenSource _cts = new();
    readonly Task _producer;

    public PrefetchingBatcher(IEnumerable<long> batchKeys, Func<long, T> build, int prefetch)
    {
        _channel = Channel.CreateBounded<T>(
            new BoundedChannelOptions(Math.Max(1, prefetch)) { SingleReader = true, SingleWriter = true }
        );
        _producer = Task.Run(async () =>
        {
            try
            {
                foreach (var key in batchKeys)
                {
                    _cts.Token.ThrowIfCancellationRequested();
                    await _channel.Writer.WriteAsync(build(key), _cts.Token).ConfigureAwait(false);
                }
                _channel.Writer.Complete();
            }
            catch (OperationCanceledException)
            {
                _channel.Writer.TryComplete();
            }
            catch (Exception e)
            {
                _channel.Writer.TryComplete(e);
            }
        });
    }

    /// <summary>The batches in order; an exception from the builder surfaces here.</summary>
    public IEnumerable<T> Read()
    {
        while (true)
        {
            T item;
            try
            {
                if (!_channel.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                    yield break;
                if (!_channel.Reader.TryRead(out item!))
                    continue;
            }
            catch (ChannelClosedException e) when (e.InnerException != null)
            {
                throw e.InnerException;
            }
            yield return item;
        }
    }

    public void Dispose()
    {
        _cts.Cancel();
        try
        {
            _producer.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException) { }
        _cts.Dispose();
    }
}
