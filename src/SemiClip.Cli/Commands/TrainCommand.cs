using System.CommandLine;
using SemiClip.Cli.Ui;
using SemiClip.Training;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip train</c>: CLIP, S-CLIP, SoftCLIP or both, from a JSON/YAML config plus overrides.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "JSON or YAML training config (see README)" };
        var method = new Option<string?>("--method") { Description = "clip | sclip | softclip | sclip+softclip" };
        var set = new Option<string[]>("--set")
        {
            Description = "override a config field, e.g. --set batch_size=64 --set loss.caption_weight=0.5",
            AllowMultipleArgumentsPerToken = false
        };
        var data = new Option<string?>("--data") { Description = "caption file (CSV/TSV, JSONL, Karpathy JSON)" };
        var runName = new Option<string?>("--run-name") { Description = "run folder name under runs_dir" };
        var resume = new Option<bool>("--resume") { Description = "continue the named run from its newest checkpoint" };
        var skipBad = new Option<bool>("--skip-bad") { Description = "skip and list bad files/rows instead of stopping" };
        var labelRatio = new Option<double?>("--label-ratio") { Description = "fraction of images kept paired; the rest become unpaired" };
        var allowChange = new Option<bool>("--allow-config-change")
        {
            Description = "with --resume: continue with " +
            "given settings that differ from the run's saved config (logged)"
        };
        var printConfig = new Option<bool>("--print-config")
        {
            Description = "print every config field with its " +
            "effective value, default and meaning, then exit"
        };
        var markdown = new Option<bool>("--markdown") { Description = "with --print-config: the defaults as the README's Markdown table" };
        var (imgKey, captionKey, separator) = CommonOptions.CsvColumns();
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var cmd = new Command("train", "Train or fine-tune a CLIP model") { config, method, set, data, runName, resume,
            allowChange, skipBad, labelRatio, imgKey, captionKey, separator, printConfig, markdown, device, threads };
        cmd.SetAction(p =>
        {
            var overrides = new List<string>(p.GetValue(set) ?? Array.Empty<string>());
            if (p.GetValue(method) is { } m) overrides.Add($"method={m}");
            if (p.GetValue(data) is { } d) overrides.Add($"train_data=\"{d}\"");
            if (p.GetValue(runName) is { } n) overrides.Add($"run_name=\"{n}\"");
            if (p.GetValue(skipBad)) overrides.Add("skip_bad=true");
            if (p.GetValue(labelRatio) is { } lr) overrides.Add($"label_ratio={lr.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            // Only a --device the user typed replaces the config's device (and any --set device=…).
            if (p.GetResult(device) is { Implicit: false }) overrides.Add($"device=\"{p.GetValue(device)}\"");
            if (p.GetValue(threads) > 0) overrides.Add($"threads={p.GetValue(threads)}");
            if (p.GetValue(imgKey) is { } ik) overrides.Add($"csv_img_key={System.Text.Json.JsonSerializer.Serialize(ik)}");
            if (p.GetValue(captionKey) is { } ck) overrides.Add($"csv_caption_key={System.Text.Json.JsonSerializer.Serialize(ck)}");
            if (p.GetValue(separator) is { } sep) overrides.Add($"csv_separator={System.Text.Json.JsonSerializer.Serialize(CommonOptions.Separator(sep))}");
            var cfg = TrainConfig.Load(p.GetValue(config), overrides);
            if (p.GetValue(printConfig))
            {
                Console.Write(p.GetValue(markdown) ? ConfigReference.Markdown() : ConfigReference.Render(cfg));
                return 0;
            }
            using var session = new TrainingSession(cfg, p.GetValue(resume), p.GetValue(allowChange));
            ConsoleUi.Line($"run folder: {session.Run.Root}");
            ConsoleUi.Line($"method {cfg.Method}: {session.Loader.BatchesPerEpoch} batches/epoch, steps {session.StartStep} → {session.TotalSteps}, " +
                           $"{session.Model.ParameterCount():N0} parameters");
            TrainProgress.Run("training", session.TotalSteps, onStep => session.Train(onStep));
            if (session.BadInputs.Count > 0) ConsoleUi.Line($"skipped {session.BadInputs.Count} bad input(s); listed in {session.Run.MetricsPath}");
            ConsoleUi.Line($"weights: {session.FinalWeightsPath}");
            return 0;
        });
        return cmd;
    }
}
