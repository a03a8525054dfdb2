using System.Diagnostics;
using SemiClip.Data.Images;
using SemiClip.Model;
using static TorchSharp.torch;

namespace SemiClip.Runs;

/// <summary><c>check_images: auto</c>: decode every image before training (which finds truncated files too) when
/// that is estimated to cost at most <see cref="Share"/> of the run, else read their headers. Both sides are timed
/// on this machine: the decode on a sample of the run's own images, the run from below as the image passes it makes ×
/// one forward pass of the image tower, timed on blank images (the text tower, the loss and the optimiser are left
/// out, so the run is not overestimated and a full check does not cost more than promised).</summary>
public static class ImageCheckChoice
{
    /// <summary>The largest part of the run's time the full check may take.</summary>
    public const double Share = 0.1;

    /// <summary>How many of the images are decoded to time the decode.</summary>
    const int Sample = 8;

    /// <summary>The depth <c>check_images</c> asks for over <paramref name="images"/>, and with auto what it chose and
    /// why (said whether the check passes or not; null otherwise).</summary>
    public static (ImageCheckDepth Depth, string? Choice) For(
        Training.TrainConfig config,
        ClipModel model,
        IReadOnlyList<string> images,
        int pairedPerStep,
        int imagesPerStep
    )
    {
        if (config.CheckImages != "auto")
            return (ImageCheck.ParseDepth(config.CheckImages), null);
        long steps =
            config.Steps
            ?? config.Epochs * Math.Max(1L, (long)Math.Ceiling(images.Count * config.LabelRatio / pairedPerStep));
        var depth = Choose(
            DecodeSeconds(images, config.Workers),
            RunSeconds(config, model, steps * imagesPerStep, images.Count),
            out var why
        );
        return (depth, $"check_images auto: {why}");
    }

    public static ImageCheckDepth Choose(double decodeAllSeconds, double runSeconds, out string why)
    {
        bool full = decodeAllSeconds <= Share * runSeconds;
        why =
            $"{(full ? "full decode" : "headers")}: decoding every image would take about "
            + $"{decodeAllSeconds:0.#} s, {(full ? "within" : "more than")} {Share:P0} of the run's estimated "
            + $"{runSeconds:0.#} s";
        return full ? ImageCheckDepth.Full : ImageCheckDepth.Headers;
    }

    /// <summary>The time to decode all <paramref name="images"/> with <paramref name="workers"/> threads, from a
    /// timed sample spread over the list. A sample image that cannot be decoded is left out of the timing: the
    /// check itself will name it.</summary>
    public static double DecodeSeconds(IReadOnlyList<string> images, int workers)
    {
        if (images.Count == 0)
            return 0;
        int n = Math.Min(Sample, images.Count);
        double seconds = 0;
        int timed = 0;
        for (int i = 0; i < n; i++)
        {
            var sw = Stopwatch.StartNew();
            if (ImageCheck.Problem(images[(int)((long)i * images.Count / n)], ImageCheckDepth.Full) is null)
            {
                seconds += sw.Elapsed.TotalSeconds;
                timed++;
            }
        }
        return timed == 0 ? 0 : seconds / timed * images.Count / Math.Max(1, workers);
    }

    /// <summary>The image tower's share of a run that draws <paramref name="drawn"/> images out of <paramref
    /// name="unique"/>: three forward passes per image drawn (forward and backward), one for a locked tower (its
    /// backward stops at the unlocked top, if any), and each image once when the run keeps a locked tower's features
    /// (<see cref="Training.LockedFeatures"/>; batch norms aside, so the estimate stays below the run).</summary>
    public static double RunSeconds(Training.TrainConfig config, ClipModel model, long drawn, int unique)
    {
        long passes = Training.LockedFeatures.SettingsKeepImages(config) ? Math.Min(drawn, unique) : drawn;
        return passes * (config.LockImage ? 1 : 3) * ForwardSecondsPerImage(model);
    }

    /// <summary>One forward pass of the image tower per image, timed on two blank images in evaluation mode (no
    /// BatchNorm statistics move, no random numbers are drawn), after one untimed pass.</summary>
    static double ForwardSecondsPerImage(ClipModel model)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        bool training = model.training;
        model.eval();
        try
        {
            int size = model.Config.Vision.ImageSize;
            var first = model.parameters().First();
            var blank = zeros([2, 3, size, size], first.dtype, first.device);
            model.EncodeImage(blank);
            var sw = Stopwatch.StartNew();
            model.EncodeImage(blank);
            return sw.Elapsed.TotalSeconds / 2;
        }
        finally
        {
            if (training)
                model.train();
        }
    }
}
