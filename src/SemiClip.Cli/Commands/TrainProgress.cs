using System.Globalization;
using SemiClip.Cli.Ui;
using SemiClip.Training;

namespace SemiClip.Cli.Commands;

/// <summary>Shows a training run's steps with loss parts, lr, logit scale and samples/s.</summary>
public static class TrainProgress
{
    public static string Describe(StepReport r) =>
        string.Join(" ", r.Losses.Select(kv => $"{kv.Key}={kv.Value.ToString("F3", CultureInfo.InvariantCulture)}"))
        + $" lr={r.Lr.ToString("E2", CultureInfo.InvariantCulture)} "
        + $"scale={r.LogitScale.ToString("F1", CultureInfo.InvariantCulture)} "
        + $"{r.SamplesPerSecond.ToString("F0", CultureInfo.InvariantCulture)}/s";

    public static void Run(string label, long total, Action<Action<StepReport>> train) =>
        ConsoleUi.Progress(label, total, update =>
        {
            train(r => update(r.Step, Describe(r)));
            return 0;
        });
}
