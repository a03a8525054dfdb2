using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Losses;

/// <summary>The most recent paired image and caption features (detached), with their keyword labels and
/// classes, kept across steps so S-CLIP's transport step can match an unpaired image against more paired
/// images than one batch holds. With 30 classes and 32 paired images per step about a third of the
/// unpaired images have no same-class paired image in the batch; a queue of a few hundred gives almost
/// every class several. Stale features (up to <see cref="Capacity"/>/B steps old) are the price; only the
/// current batch's captions receive gradient. Saved with training checkpoints (<see cref="StateTensors"/>), so a
/// resumed run continues with the queue it had.</summary>
public sealed class SupportQueue(int capacity) : IDisposable
{
    Tensor? _images,
        _texts,
        _keywordLabels,
        _classes;
    int _next,
        _count;

    public int Capacity { get; } =
        capacity > 0
            ? capacity
            : throw new ArgumentOutOfRangeException(nameof(capacity), "support queue size must be positive.");
    public int Count => _count;

    /// <summary>Appends a batch's paired features (oldest entries are overwritten).</summary>
    public void Push(Tensor images, Tensor texts, Tensor? keywordLabels, Tensor? classes)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        long n = Math.Min(images.shape[0], Capacity);
        if (_images is null)
        {
            _images = zeros(Capacity, images.shape[1], dtype: images.dtype, device: images.device)
                .DetachFromDisposeScope();
            _texts = zeros(Capacity, texts.shape[1], dtype: texts.dtype, device: texts.device).DetachFromDisposeScope();
            if (keywordLabels is not null)
                _keywordLabels = zeros(Capacity, keywordLabels.shape[1], dtype: float32, device: images.device)
                    .DetachFromDisposeScope();
            if (classes is not null)
                _classes = Scalars.Full(Capacity, -1, int64, images.device).DetachFromDisposeScope();
        }
        for (long i = 0; i < n;)
        {
            long chunk = Math.Min(n - i, Capacity - _next);
            _images.narrow(0, _next, chunk).copy_(images.detach().narrow(0, i, chunk));
            _texts!.narrow(0, _next, chunk).copy_(texts.detach().narrow(0, i, chunk));
            if (_keywordLabels is not null && keywordLabels is not null)
                _keywordLabels.narrow(0, _next, chunk).copy_(keywordLabels.narrow(0, i, chunk).to(float32));
            if (_classes is not null && classes is not null)
                _classes.narrow(0, _next, chunk).copy_(classes.narrow(0, i, chunk).to(_classes.device));
            _next = (int)((_next + chunk) % Capacity);
            _count = (int)Math.Min(Capacity, _count + chunk);
            i += chunk;
        }
    }

    /// <summary>The filled entries (views, valid until the next push).</summary>
    public (Tensor Images, Tensor Texts, Tensor? KeywordLabels, Tensor? Classes) Entries =>
        _images is null
            ? throw new InvalidOperationException("the support queue is empty.")
            : (
                _images.narrow(0, 0, _count),
                _texts!.narrow(0, 0, _count),
                _keywordLabels?.narrow(0, 0, _count),
                _classes?.narrow(0, 0, _count)
            );

    const string Prefix = "support.";

    /// <summary>The queue as named tensors for a checkpoint (none while empty): its four buffers and
    /// <c>support.position</c> [next, count].</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors()
    {
        if (_images is null)
            yield break;
        yield return KeyValuePair.Create(Prefix + "images", _images);
        yield return KeyValuePair.Create(Prefix + "texts", _texts!);
        if (_keywordLabels is not null)
            yield return KeyValuePair.Create(Prefix + "keyword_labels", _keywordLabels);
        if (_classes is not null)
            yield return KeyValuePair.Create(Prefix + "classes", _classes);
        yield return KeyValuePair.Create(Prefix + "position", tensor(new long[] { _next, _count }));
    }

    /// <summary>Restores what <see cref="StateTensors"/> saved; a checkpoint without a queue leaves it empty.</summary>
    public void LoadState(Func<string, Tensor?> read, Device device)
    {
        Dispose();
        (_images, _texts, _keywordLabels, _classes, _next, _count) = (null, null, null, null, 0, 0);
        using var position = read(Prefix + "position");
        if (position is null)
            return;
        var at = position.data<long>().ToArray();
        if (at.Length != 2 || at[1] > Capacity)
            throw new InvalidDataException(
                $"support queue of {at.ElementAtOrDefault(1)} entries does not fit support_queue_size {Capacity}."
            );
        Tensor? Load(string name) => read(Prefix + name)?.to(device).DetachFromDisposeScope();
        (_images, _texts, _keywordLabels, _classes) = (
            Load("images"),
            Load("texts"),
            Load("keyword_labels"),
            Load("classes")
        );
        if (_images is null || _texts is null || _images.shape[0] != Capacity)
            throw new InvalidDataException(
                $"the checkpoint's support queue does not match support_queue_size {Capacity}."
            );
        (_next, _count) = ((int)at[0], (int)at[1]);
    }

    public void Dispose()
    {
        _images?.Dispose();
        _texts?.Dispose();
        _keywordLabels?.Dispose();
        _classes?.Dispose();
    }
}
