using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using SemiClip.Cli.Ui;
using SemiClip.Runs;
using SemiClip.Training;

namespace SemiClip.Cli.Commands;

/// <summary><c>semiclip train</c>: CLIP, S-CLIP, SoftCLIP or both, from a JSON/YAML config plus overrides.</summary>
public static class TrainCommand
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "JSON or YAML training config (see README)" };
        var method = new Option<string?>("--method") { Description = "clip | sclip | softclip | sclip+softclip" };
        var set = new Option<string[]>("--set")
        {
            Description = "override a config field, e.g. --set batch_size=64 --set loss.caption_weight=0.5",
            AllowMultipleArgumentsPerToken = false,
        };
        var data = new Option<string?>("--data")
        {
            Description = "caption file (CSV/TSV, JSONL, Karpathy JSON) or .tar shards (train_data)",
        };
        var imageRoot = new Option<string?>("--image-root")
        {
            Description = "folder image paths are relative to (image_root)",
        };
        var steps = new Option<long?>("--steps") { Description = "optimisation steps (steps)" };
        var batchSize = new Option<int?>("--batch-size") { Description = "images per step (batch_size)" };
        var keywords = new Option<string?>("--keywords")
        {
            Description = "keyword file for S-CLIP, one per line (keywords)",
        };
        var pretrained = new Option<string?>("--pretrained")
        {
            Description = "starting weights: .safetensors or a run folder (pretrained)",
        };
        var runsDir = new Option<string?>("--runs-dir") { Description = "where run folders go (runs_dir)" };
        var runName = new Option<string?>("--run-name") { Description = "run folder name under runs_dir" };
        var resume = new Option<bool>("--resume")
        {
            Description = "continue the named run from its newest intact checkpoint",
        };
        var overwrite = new Option<bool>("--overwrite")
        {
            Description = "start over under an existing run name; the old run is moved aside, not deleted",
        };
        var skipBad = new Option<bool>("--skip-bad")
        {
            Description = "skip and list bad files/rows instead of stopping",
        };
        var checkImages = new Option<string?>("--check-images")
        {
            Description = "pre-flight image check: auto | headers | full | none (check_images)",
        };
        var labelRatio = new Option<double?>("--label-ratio")
        {
            Description = "fraction of images kept paired; the rest become unpaired",
        };
        var allowChange = new Option<bool>("--allow-config-change")
        {
            Description =
                "with --resume: continue with " + "given settings that differ from the run's saved config (logged)",
        };
        var printConfig = new Option<bool>("--print-config")
        {
            Description = "print every config field with its " + "effective value, default and meaning, then exit",
        };
        var markdown = new Option<bool>("--markdown")
        {
            Description = "with --print-config: the defaults as docs/config.md's Markdown table",
        };
        var (imgKey, captionKey, separator) = CommonOptions.CsvColumns();
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var cmd = new Command("train", "Train or fine-tune a CLIP model")
        {
            config,
            method,
            set,
            data,
            imageRoot,
            steps,
            batchSize,
            keywords,
            pretrained,
            runsDir,
            runName,
            resume,
            overwrite,
            allowChange,
            skipBad,
            checkImages,
            labelRatio,
            imgKey,
            captionKey,
            separator,
            printConfig,
            markdown,
            device,
            threads,
        };
        cmd.Validators.Add(r =>
        {
            if (r.GetValue(resume) && r.GetValue(overwrite))
                r.AddError("--resume and --overwrite contradict each other: choose one.");
            if (r.GetValue(markdown) && !r.GetValue(printConfig))
                r.AddError("--markdown goes with --print-config.");
            if (r.GetValue(allowChange) && !r.GetValue(resume))
                r.AddError("--allow-config-change goes with --resume.");
        });
        cmd.SetAction(p =>
        {
            var overrides = (p.GetValue(set) ?? Array.Empty<string>()).Select(TrainConfig.ParseOverride).ToList();
            // The flags are thin aliases of their fields (one table: FlagHints.Map); their values are typed here,
            // never re-parsed as JSON.
            void Alias<T>(Option<T> option, Func<T, JsonNode?> value)
            {
                if (p.GetResult(option) is { Implicit: false } && p.GetValue(option) is { } v)
                    overrides.Add((FlagHints.FieldOf(option.Name), value(v)));
            }
            Alias(method, v => JsonValue.Create(v));
            Alias(data, v => JsonValue.Create(v));
            Alias(imageRoot, v => JsonValue.Create(v));
            Alias(steps, v => JsonValue.Create(v));
            Alias(batchSize, v => JsonValue.Create(v));
            Alias(keywords, v => JsonValue.Create(v));
            Alias(pretrained, v => JsonValue.Create(v));
            Alias(runsDir, v => JsonValue.Create(v));
            Alias(runName, v => JsonValue.Create(v));
            Alias(checkImages, v => JsonValue.Create(v));
            Alias(labelRatio, v => JsonValue.Create(v));
            Alias(device, v => JsonValue.Create(v));
            Alias(imgKey, v => JsonValue.Create(v));
            Alias(captionKey, v => JsonValue.Create(v));
            Alias(separator, v => JsonValue.Create(CommonOptions.Separator(v!)));
            if (p.GetValue(skipBad))
                overrides.Add(("skip_bad", JsonValue.Create(true)));
            if (p.GetValue(threads) != 0)
                overrides.Add(("threads", JsonValue.Create(p.GetValue(threads))));
            var cfg = TrainConfig.Load(p.GetValue(config), overrides);
            if (p.GetValue(printConfig))
            {
                Console.Write(p.GetValue(markdown) ? ConfigReference.Markdown() : ConfigReference.Render(cfg));
                return 0;
            }
            using var stop = new CancellationTokenSource();
            // Threads are the process's to set, so the CLI sets them (the library never does); a resumed run's saved
            // value applies once the session has reconciled it.
            CommonOptions.ApplyThreads(cfg.Threads);
            using var session = ConsoleUi.Counting("checking images", update => new TrainingSession(
                cfg,
                p.GetValue(resume),
                p.GetValue(allowChange),
                p.GetValue(overwrite),
                update
            ));
            // Only now does Ctrl-C mean "save and stop": during the pre-flight nothing exists yet, so the default
            // handling ends the process at once.
            using var signals = StopSignals.Install(stop);
            CommonOptions.ApplyThreads(session.Config.Threads);
            foreach (var notice in session.Notices)
                ConsoleUi.Line(notice);
            foreach (var warning in session.Warnings)
                Console.Error.WriteLine($"semiclip: warning: {warning}.");
            var name = Path.GetFileName(session.Run.Root);
            ConsoleUi.Line($"run folder: {session.Run.Root}");
            ConsoleUi.Line(
                $"method {Losses.LossConfig.MethodName(session.Config.Method)}: "
                    + $"{session.Loader.BatchesPerEpoch} batches/epoch, steps "
                    + $"{session.StartStep} → "
                    + $"{session.TotalSteps}{(session.StartStep > 0 ? " (resumed)" : "")}, "
                    + $"{session.Model.ParameterCount():N0} parameters"
            );
            try
            {
                TrainProgress.Run("training", session.TotalSteps, onStep =>
                    session.Train(onStep, stop.Token, (step, metrics) =>
                        ConsoleUi.Line(
                            $"eval at step {step}: "
                                + string.Join(
                                    ", ",
                                    metrics.Select(m =>
                                        // Rates as percentages; a loss is a number, not a rate.
                                        m.Key.EndsWith("loss", StringComparison.Ordinal)
                                            ? string.Create(Invariant, $"{m.Key} {m.Value:F4}")
                                            : string.Create(Invariant, $"{m.Key} {100 * m.Value:F1}%")
                                    )
                                )
                        )
                    )
                );
            }
            catch (TrainingInterruptedException e)
            {
                Console.Error.WriteLine($"semiclip: interrupted after step {e.Step}; saved {e.Checkpoint}.");
                Console.Error.WriteLine(
                    $"semiclip: continue with: semiclip train --runs-dir {session.Config.RunsDir} --run-name {name} "
                        + $"--resume"
                );
                return 130;
            }
            if (session.BadInputs.Count > 0)
                ConsoleUi.Line(
                    $"skipped {session.BadInputs.Count} bad image(s)/row(s); listed in {session.Run.MetricsPath}"
                );
            ConsoleUi.Line($"weights: {session.FinalWeightsPath}");
            return 0;
        });
        return cmd;
    }
}

/// <summary>Ctrl-C (SIGINT) and SIGTERM ask training to stop after the step under way, so the run is saved; a second
/// signal ends the process at once.</summary>
sealed class StopSignals : IDisposable
{
    readonly PosixSignalRegistration[] _registrations;

    StopSignals(CancellationTokenSource stop)
    {
        _registrations = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM }
            .Select(signal => PosixSignalRegistration.Create(signal, context =>
                {
                    if (stop.IsCancellationRequested)
                        return; // the second signal: default handling ends the process now
                    context.Cancel = true;
                    stop.Cancel();
                    Console.Error.WriteLine(
                        "semiclip: stopping after this step and saving a checkpoint (press Ctrl-C again to quit at "
                            + "once)."
                    );
                }))
            .ToArray();
    }

    public static StopSignals Install(CancellationTokenSource stop) => new(stop);

    public void Dispose()
    {
        foreach (var r in _registrations)
            r.Dispose();
    }
}
