namespace SemiClip.Training;

/// <summary>The metrics evaluation during training logs (kind "eval", each prefixed val_), which keep_best may
/// name.</summary>
public static class ValidationMetricNames
{
    public static readonly IReadOnlyList<string> Known =
    [
        "val_zero_shot_top1",
        "val_zero_shot_top5",
        "val_mean_recall",
        "val_i2t_r1",
        "val_t2i_r1",
        "val_loss",
    ];

    public static bool LowerIsBetter(string metric) => metric == "val_loss";
}
