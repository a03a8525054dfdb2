namespace SemiClip.Training;

/// <summary>open_clip's <c>cosine_lr</c>: linear warm-up to the base rate, then half a cosine to zero,
/// a pure function of the global step (so a resumed run needs only the step).</summary>
public static class LearningRateSchedule
{
    public static double At(long step, double baseLr, long warmupSteps, long totalSteps)
    {
        if (step < warmupSteps)
            return baseLr * (step + 1) / warmupSteps;
        long e = step - warmupSteps,
            es = Math.Max(1, totalSteps - warmupSteps);
        return 0.5 * (1 + Math.Cos(Math.PI * Math.Min(e, es) / es)) * baseLr;
    }
}
