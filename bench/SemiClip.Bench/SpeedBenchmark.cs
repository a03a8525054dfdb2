using System.Diagnostics;
using System.Globalization;
using System.Text;
using SemiClip.Data;
using SemiClip.Evaluation;
using SemiClip.Losses;
using SemiClip.Model;
using SemiClip.Runs;
using SemiClip.Runtime;
using SemiClip.Synthetic;
using SemiClip.Tensors;
using SemiClip.Tokenization;
using SemiClip.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SemiClip.Bench;

/// <summary>Training samples/s and model-FLOPs utilisation per method against a matmul peak measured in
/// the same process, the S-CLIP/CLIP step-time ratio, AdamW's share of a step, loader throughput
/// against training throughput, evaluation throughput on 10,000 images, brute-force search latency
/// at 100k embeddings, and peak memory.</summary>
public static class SpeedBenchmark
{
    sealed record MethodRow(
        string Model,
        int ImageSize,
        int ImagesPerStep,
        string Method,
        string Precision,
        double StepMs,
        double ImagesPerS,
        double GflopPerStep,
        double AchievedGflops,
        double Mfu,
        double RatioToClip,
        double AdamWMs,
        double Bf16Speedup,
        double PeakMemoryMb,
        double PytorchStepMs,
        double RatioToPeer
    );

    sealed record TimedModel(string Name, ClipConfig Config, int Batch, int Steps, int Warmup, string[] Methods);

    static readonly string[] AllMethods = ["clip", "sclip", "softclip", "softclip-pooled", "sclip+softclip"];
    static readonly string[] RealSizeMethods =
    [
        "clip",
        "sclip",
        "softclip",
        "clip-lock-image",
        "clip-grad-checkpointing",
    ];
    const string PeerScript = "bench/reference/clip_step_peer.py";

    static string Cell(double value, string format) => double.IsNaN(value) ? "" : value.ToString(format, Inv);

    const int Batch = 64,
        Keywords = 28,
        Vocab = 794;
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        if (args.Contains("--row"))
            return RunRow(args);
        var device = DeviceSelector.Parse(BenchReport.Option(args, "--device", "cpu"));
        var outDir = BenchReport.ResultsDir(args);
        var work = Path.Combine(Path.GetTempPath(), "semiclip-bench");
        Directory.CreateDirectory(work);
        var md = new StringBuilder(
            $"# Speed benchmark ({device.type}, {get_num_threads()} threads, {DateTime.UtcNow:yyyy-MM-dd})\n\n"
        );

        // The peak is the best of several measurements (start and end of the run): one reading on a shared
        // 2-core machine can come out at half the true rate, which would inflate MFU past 100%.
        int n = device.type == TorchSharp.DeviceType.CUDA ? 4096 : 1536;
        double peak = Enumerable.Range(0, 3).Max(_ => NativeRuntimeInfo.MeasureMatmulGflops(device, n, 10));
        Console.WriteLine($"matmul peak {peak:F1} GFLOP/s");

        double peakBf16 =
            device.type == TorchSharp.DeviceType.CUDA || !args.Contains("--no-bf16")
                // A smaller product on the CPU: where bf16 GEMM is a scalar fallback, a 1536³ product takes seconds.
                ? Enumerable
                    .Range(0, 3)
                    .Max(_ =>
                        NativeRuntimeInfo.MeasureMatmulGflops(
                            device,
                            device.type == TorchSharp.DeviceType.CUDA ? n : 512,
                            5,
                            ScalarType.BFloat16
                        )
                    )
                : double.NaN;
        Console.WriteLine($"bf16 matmul peak {peakBf16:F1} GFLOP/s");

        var config = ClipConfig.Load("tiny-vit") with
        {
            Text = ClipConfig.Load("tiny-vit").Text with { VocabSize = Vocab },
        };
        bool cudaDevice = device.type == TorchSharp.DeviceType.CUDA;
        // A convolution peak beside the matmul one: RN50's MFU is measured against what convolutions reach here.
        double convPeak = Enumerable.Range(0, 3).Max(_ => MeasureConvGflops(device, cudaDevice ? 128 : 16));
        Console.WriteLine($"conv peak {convPeak:F1} GFLOP/s");
        var methods = new List<MethodRow>();
        md.Append(
            $"## Training step at equal images per step (batch_composition split): S-CLIP half paired, half "
                + $"unpaired, {Keywords} keywords\n\n"
        );
        md.Append(
            "| model | px | images/step | method | precision | step ms | images/s | GFLOP/step | achieved GFLOP/s "
                + "| MFU (same-precision peak) | step / CLIP step | bf16 speed-up | AdamW ms | peak MiB "
                + "| PyTorch step ms "
                + "| step / PyTorch step |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        );
        var models = new List<TimedModel> { new("tiny-vit", config, Batch, 12, 2, AllMethods) };
        var realSizes = BenchReport.Option(args, "--models", args.Contains("--big") ? "ViT-B-32,ViT-B-16,RN50" : "");
        int realBatch = int.Parse(BenchReport.Option(args, "--big-batch", "64"), Inv),
            realSteps = int.Parse(BenchReport.Option(args, "--big-steps", cudaDevice ? "10" : "2"), Inv);
        var realMethods = BenchReport.Option(args, "--methods", string.Join(',', RealSizeMethods)).Split(',');
        // One untimed step at real sizes: the second step already runs at the steady rate, and on a CPU each costs a
        // minute.
        foreach (var name in realSizes.Split(',', StringSplitOptions.RemoveEmptyEntries))
            models.Add(new(name, ClipConfig.Load(name), realBatch, realSteps, cudaDevice ? 2 : 1, realMethods));
        if (args.Contains("--no-tiny"))
            models.RemoveAt(0);
        string? peer = args.Contains("--peer") ? BenchReport.Option(args, "--peer", "python3") : null;
        double clipStep = 0;
        // Real-size rows on the CPU run one per child process: the heap keeps freed memory (NativeHeap), so only a
        // fresh process's peak says what a row needs, and the PyTorch peer then has the machine's memory to itself.
        bool isolate = !cudaDevice && !args.Contains("--in-process");
        foreach (var timed in models)
        {
            var (modelName, modelConfig, batch, steps, warmup, modelMethods) = timed;
            var fp32Steps = new Dictionary<string, double>();
            double peerMs = peer is null ? double.NaN : PeerStepMs(peer, modelConfig, batch, steps, warmup, device);
            // bf16 steps are timed only where bf16 matmuls are not far slower than fp32 ones: on a CPU without
            // AVX512-BF16/AMX, LibTorch's bf16 GEMM is a scalar fallback (measured 0.8 GFLOP/s here, a step ~29×
            // slower).
            bool bf16Pays = NativeRuntimeInfo.Bf16IsNative(peak, peakBf16);
            foreach (var precision in bf16Pays ? new[] { "fp32", "bf16" } : new[] { "fp32" })
            {
                double clipHere = 0;
                foreach (var method in modelMethods)
                {
                    var (stepMs, adamMs, memoryMb) =
                        isolate && modelName != "tiny-vit"
                            ? TimeInChild(modelName, method, precision, batch, steps, warmup)
                            : TimeHere(modelConfig, method, device, precision, batch, steps, warmup);
                    if (method == "clip")
                        clipHere = stepMs;
                    if (method == "clip" && precision == "fp32" && modelName == "tiny-vit")
                        clipStep = stepMs;
                    bool unpaired = method.StartsWith("sclip", StringComparison.Ordinal);
                    bool teacher = method is "softclip" or "sclip+softclip";
                    int paired = unpaired ? batch / 2 : batch;
                    double flops =
                        ModelFlops.TrainingStep(
                            modelConfig,
                            paired,
                            unpaired ? batch - paired : 0,
                            unpaired ? Keywords : 0
                        )
                        - (method == "clip-lock-image" ? paired * 2 * ModelFlops.ImageForward(modelConfig) : 0)
                        + (
                            teacher
                                ? paired * (ModelFlops.ImageForward(modelConfig) + ModelFlops.TextForward(modelConfig))
                                : 0
                        );
                    double achieved = flops / (stepMs / 1000) / 1e9;
                    double peakHere =
                        precision == "bf16" ? peakBf16
                        : modelConfig.Vision.IsResNet ? Math.Max(peak, convPeak)
                        : peak;
                    if (precision == "fp32")
                        fp32Steps[method] = stepMs;
                    double speedup =
                        precision == "bf16" && fp32Steps.TryGetValue(method, out var f) ? f / stepMs : double.NaN;
                    double peerHere = method == "clip" && precision == "fp32" ? peerMs : double.NaN;
                    var row = new MethodRow(
                        modelName,
                        modelConfig.Vision.ImageSize,
                        batch,
                        method,
                        precision,
                        stepMs,
                        batch / (stepMs / 1000),
                        flops / 1e9,
                        achieved,
                        achieved / peakHere,
                        stepMs / clipHere,
                        adamMs,
                        speedup,
                        memoryMb,
                        peerHere,
                        stepMs / peerHere
                    );
                    methods.Add(row);
                    md.Append(
                        $"| {modelName} | {row.ImageSize} | {batch} | {method} | {precision} | {stepMs:F0} | "
                            + $"{row.ImagesPerS:F1} | {flops / 1e9:F1} | {achieved:F1} | {100 * row.Mfu:F0}% | "
                            + $"{row.RatioToClip:F2} | "
                            + $"{(double.IsNaN(speedup) ? "" : speedup.ToString("F2", Inv) + "×")} | {adamMs:F1} | "
                            + $"{memoryMb:F0} | {Cell(peerHere, "F0")} | {Cell(row.RatioToPeer, "F2")} |\n"
                    );
                    Console.WriteLine(
                        $"{modelName} {method} {precision}: {stepMs:F0} ms/step, AdamW {adamMs:F1} ms, "
                            + $"{memoryMb:F0} MiB, PyTorch {peerHere:F0} ms"
                    );
                }
            }
        }
        md.Append(
            $"\nConvolution peak measured in this process (3×3, 128→128 channels, 28×28): **{convPeak:F1} GFLOP/s**; "
                + "ResNet rows' MFU uses the larger of it and the matmul peak. Peak MiB: "
                + (
                    cudaDevice
                        ? "GPU memory nvidia-smi gives this process after the row (LibTorch's caching allocator keeps "
                            + "its largest reserve, so a row shows the most any row so far needed). "
                    : isolate
                        ? "peak resident memory (VmHWM) of a fresh process that built the model and ran the row "
                            + "(tiny-vit rows: this process's peak so far). "
                    : "this process's peak resident memory so far (VmHWM; the heap keeps freed memory). "
                )
                + "clip-lock-image = CLIP with lock_image (the image tower frozen, no image backward); "
                + "clip-grad-checkpointing = CLIP with grad_checkpointing (blocks recomputed in the backward pass; "
                + "GFLOP/step counts the model's FLOPs, not the recomputation). PyTorch step: "
                + (peer is null ? "not run (--peer)" : $"`{PeerScript}` under `{peer}`")
                + ", the same architecture, batch and AdamW, CLIP loss, fp32, same threads and the same heap policy "
                + "(glibc keeps freed memory: `NativeHeap.KeepFreedMemory`, `MALLOC_MMAP_MAX_=0` for the peer).\n"
        );
        if (!(peakBf16 >= 0.5 * peak))
            md.Append(
                    string.Create(
                        CultureInfo.InvariantCulture,
                        $"\nbf16 rows not run: bf16 matmul measures {peakBf16:F1} GFLOP/s against {peak:F1} in fp32 "
                            + $"in this process "
                    )
                )
                .Append(
                    "(no AVX512-BF16/AMX, so LibTorch falls back to scalar bf16 GEMM; a tiny-vit CLIP step took "
                        + "20,958 ms in bf16 against 721 ms in fp32 when tried). "
                        + "Use fp32 on such CPUs; bf16 is for GPUs and CPUs with native bf16.\n"
                );
        md.Append(
            "\nsoftclip = the teacher source (a frozen copy of the starting model encodes the batch again without "
                + "gradient); "
                + "softclip-pooled = the current model's own detached features. Targets (issue #13): bf16 ≥ 1.6× "
                + "faster than fp32 on tiny-vit; "
                + "S-CLIP / CLIP ≤ 1.15 at equal images per step.\n\n"
        );
        // Startup, loader, evaluation and search run on the host whatever the device; --steps-only leaves them out.
        object? host = args.Contains("--steps-only") ? null : HostSections(md, work, device, config, clipStep);

        double peakAtEnd = NativeRuntimeInfo.MeasureMatmulGflops(device, n, 10);
        md.Insert(
            md.ToString().IndexOf("## Training step", StringComparison.Ordinal),
            $"fp32 matmul peak measured in this process ({n}³, best of 30 at the start, {peakAtEnd:F1} at the end): "
                + $"**{peak:F1} GFLOP/s**; MFU below uses it.\n\n"
        );
        long peakMb = Process.GetCurrentProcess().PeakWorkingSet64 >> 20;
        md.Append($"Peak resident memory of the benchmark process: {peakMb} MiB.\n");
        BenchReport.Write(
            outDir,
            BenchReport.Option(args, "--report", $"speed-{device.type.ToString().ToLowerInvariant()}"),
            new
            {
                device = device.ToString(),
                threads = get_num_threads(),
                matmul_peak_gflops = peak,
                matmul_peak_bf16_gflops = peakBf16,
                conv_peak_gflops = convPeak,
                methods,
                host,
                peak_memory_mib = peakMb,
            },
            md.ToString()
        );
        return 0;
    }

    /// <summary>Startup, loader, evaluation and search sections (Markdown appended to <paramref name="md"/>);
    /// returns their JSON record.</summary>
    static object HostSections(StringBuilder md, string work, Device device, ClipConfig config, double clipStep)
    {
        md.Append(StartupSection(work, out var startup));

        // Loader: decode + augment + collate, no model.
        md.Append(
            "## Loader (decode + augment + collate), images/s\n\n| images on disk | output | workers | cache | "
                + "images/s | ÷ CLIP training pairs/s |\n|---|---|---|---|---|---|\n"
        );
        var loaderRows = new List<object>();
        double trainPairsPerS = Batch / (clipStep / 1000);
        foreach (var (source, output) in new[] { (256, 224), (64, 64) })
        {
            var dir = Path.Combine(work, $"loader-{source}");
            if (!File.Exists(Path.Combine(dir, "train.jsonl")))
                SyntheticDataset.Generate(
                    dir,
                    new SyntheticDataset.Options
                    {
                        TrainPerClass = 26,
                        TestPerClass = 0,
                        ImageSize = source,
                        Seed = 9,
                    }
                );
            var samples = CaptionDatasetReader.Read(
                Path.Combine(dir, "train.jsonl"),
                new CaptionDatasetOptions(),
                new BadInputReport(BadInputPolicy.FailFast)
            );
            foreach (var workers in new[] { 1, 2 })
                foreach (var cache in new[] { false, true })
                {
                    if (cache && source == 256)
                        continue;
                    using var loader = new TrainingDataLoader(
                        samples,
                        Array.Empty<string>(),
                        ClipTokenizer.OpenAi(),
                        32,
                        output,
                        null,
                        new LoaderOptions
                        {
                            BatchSize = 32,
                            Workers = workers,
                            CacheImages = cache,
                        },
                        new BadInputReport(BadInputPolicy.FailFast)
                    );
                    loader.BuildHost(0);
                    var sw = Stopwatch.StartNew();
                    int steps = source == 256 ? 4 : 16;
                    for (int s = 1; s <= steps; s++)
                        loader.BuildHost(s);
                    double perS = steps * 32 / sw.Elapsed.TotalSeconds;
                    loaderRows.Add(
                        new
                        {
                            source_px = source,
                            output_px = output,
                            workers,
                            cache,
                            images_per_s = perS,
                            ratio_to_training = perS / trainPairsPerS,
                        }
                    );
                    md.Append(
                        $"| {source} px PNG | {output} px | {workers} | {(cache ? "yes" : "no")} | {perS:F0} | "
                            + $"{perS / trainPairsPerS:F1} |\n"
                    );
                    Console.WriteLine($"loader {source}->{output} workers {workers} cache {cache}: {perS:F0} images/s");
                }
        }
        md.Append(
            $"\nCLIP training consumes {trainPairsPerS:F0} pairs/s (tiny config); the loader goal is ≥ 2× that with "
                + $"2 workers at 64 px.\n\n"
        );

        // Evaluation throughput on 10,000 real image files.
        var evalDir = Path.Combine(work, "eval10k");
        if (!File.Exists(Path.Combine(evalDir, "train.jsonl")))
            SyntheticDataset.Generate(
                evalDir,
                new SyntheticDataset.Options
                {
                    TrainPerClass = 1000,
                    TestPerClass = 0,
                    ImageSize = 64,
                    Seed = 4,
                }
            );
        var files = Directory.GetFiles(Path.Combine(evalDir, "train"), "*.png", SearchOption.AllDirectories);
        manual_seed(0);
        using var model = new ClipModel(config);
        model.to(device);
        var embedder = new Embedder(model, ClipTokenizer.OpenAi(), device, 256, 2);
        var clock = Stopwatch.StartNew();
        using (var features = embedder.EncodeImages(files)) { }
        double evalSeconds = clock.Elapsed.TotalSeconds;
        md.Append(
            $"## Evaluation\n\nEncoding {files.Length:N0} PNG files (64 px, decode + eval transform + tiny-vit "
                + $"forward, batch 256): **{evalSeconds:F1} s** ({files.Length / evalSeconds:F0} images/s); goal < "
                + $"60 s.\n\n"
        );
        Console.WriteLine($"eval {files.Length} images in {evalSeconds:F1}s");

        // Brute-force search at 100k embeddings.
        var index = nn.functional.normalize(randn(100_000, 512, device: device), dim: -1);
        var query1 = nn.functional.normalize(randn(1, 512, device: device), dim: -1);
        var query100 = nn.functional.normalize(randn(100, 512, device: device), dim: -1);
        double TimeTopK(Tensor q, int reps)
        {
            using (NewDisposeScope())
                _ = index.matmul(q.t()).topk(10, 0);
            var sw = Stopwatch.StartNew();
            for (int r = 0; r < reps; r++)
            {
                using var scope = NewDisposeScope();
                var (v, i) = index.matmul(q.t()).topk(10, 0);
                _ = i.cpu();
            }
            return sw.Elapsed.TotalMilliseconds / reps;
        }
        double one = TimeTopK(query1, 20),
            hundred = TimeTopK(query100, 5);
        md.Append(
            $"## Brute-force search, 100,000 × 512 embeddings (fp32, {100_000L * 512 * 4 / (1 << 20)} MiB)\n\n| "
                + $"queries | latency |\n|---|---|\n| 1 | {one:F1} ms |\n| 100 (batched) | {hundred:F1} ms "
                + $"({hundred / 100:F2} ms/query) |\n\n"
        );
        double breakEven = 100_000 * 50 / one; // brute force scales linearly with the index size
        md.Append(
            $"Brute force scales linearly, so a single query reaches a 50 ms interactive budget at about "
                + $"{breakEven / 1000:F0}k embeddings of 512 floats on this machine; past that (or once the index no "
                + $"longer "
                + $"fits in memory) a vector index (IVF/HNSW) is needed. Batching queries amortises the scan.\n\n"
        );
        Console.WriteLine($"search 1 query {one:F1} ms, 100 queries {hundred:F1} ms");

        return new
        {
            startup,
            loader = loaderRows,
            eval = new { images = files.Length, seconds = evalSeconds },
            search = new
            {
                embeddings = 100_000,
                dim = 512,
                single_query_ms = one,
                batch100_ms = hundred,
            },
        };
    }

    /// <summary>A row timed in this process, with the memory reading that fits the device.</summary>
    static (double StepMs, double AdamMs, double MemoryMb) TimeHere(
        ClipConfig config,
        string method,
        Device device,
        string precision,
        int batch,
        int steps,
        int warmup
    )
    {
        var (stepMs, adamMs) = TimeSteps(config, method, device, precision, batch, steps, warmup);
        bool cuda = device.type == TorchSharp.DeviceType.CUDA;
        return (stepMs, adamMs, cuda ? ProcessMemory.GpuUsedMb() : ProcessMemory.PeakResidentMb());
    }

    /// <summary>Child side of <see cref="TimeInChild"/>: <c>speed --row MODEL,METHOD,PRECISION,BATCH,STEPS,WARMUP</c>
    /// prints one JSON line.</summary>
    static int RunRow(string[] args)
    {
        var f = BenchReport.Option(args, "--row", "").Split(',');
        var device = DeviceSelector.Parse(BenchReport.Option(args, "--device", "cpu"));
        var (stepMs, adamMs, memoryMb) = TimeHere(
            ClipConfig.Load(f[0]),
            f[1],
            device,
            f[2],
            int.Parse(f[3], Inv),
            int.Parse(f[4], Inv),
            int.Parse(f[5], Inv)
        );
        Console.WriteLine(
            System.Text.Json.JsonSerializer.Serialize(
                new
                {
                    step_ms = stepMs,
                    adam_ms = adamMs,
                    memory_mb = memoryMb,
                }
            )
        );
        return 0;
    }

    static (double StepMs, double AdamMs, double MemoryMb) TimeInChild(
        string model,
        string method,
        string precision,
        int batch,
        int steps,
        int warmup
    )
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        // Under `dotnet SemiClip.Bench.dll` the child needs the assembly named; the SemiClip.Bench app host does not.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            start.ArgumentList.Add(typeof(SpeedBenchmark).Assembly.Location);
        foreach (var a in new[] { "speed", "--row", string.Join(',', model, method, precision, batch, steps, warmup) })
            start.ArgumentList.Add(a);
        var (last, exitCode, errors) = JsonResultOf(start);
        if (last is null)
            throw new InvalidOperationException($"row {model} {method} {precision} failed ({exitCode}): {errors}");
        using var doc = System.Text.Json.JsonDocument.Parse(last);
        var r = doc.RootElement;
        return (
            r.GetProperty("step_ms").GetDouble(),
            r.GetProperty("adam_ms").GetDouble(),
            r.GetProperty("memory_mb").GetDouble()
        );
    }

    /// <summary>Runs a child process that prints its result as its last JSON line (a row child, the PyTorch peer);
    /// the line is null when the child failed or printed none.</summary>
    static (string? Json, int ExitCode, string Errors) JsonResultOf(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var child = Process.Start(start)!;
        var errors = child.StandardError.ReadToEndAsync();
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'));
        return (child.ExitCode == 0 ? last : null, child.ExitCode, errors.Result);
    }

    static (double StepMs, double AdamMs) TimeSteps(
        ClipConfig config,
        string method,
        Device device,
        string precision,
        int batchSize,
        int steps,
        int warmup
    )
    {
        manual_seed(0);
        using var model = new ClipModel(config);
        var train = TrainConfig.Load(null) with
        {
            Method = Losses.LossConfig.ParseMethod(
                method switch
                {
                    "softclip-pooled" => "softclip",
                    "clip-lock-image" or "clip-grad-checkpointing" => "clip",
                    _ => method,
                }
            ),
            LockImage = method == "clip-lock-image",
            GradCheckpointing = method == "clip-grad-checkpointing",
            WarmupSteps = 1,
            Lr = 1e-4,
            Precision = precision == "bf16" ? Precision.Bf16 : Precision.Fp32,
        };
        var lossConfig = train.Loss with
        {
            IntraSource = method == "softclip-pooled" ? IntraModalSource.Pooled : IntraModalSource.Teacher,
        };
        var loss = new TrainingObjective(lossConfig);
        using var keywordTokens = randint(1, Vocab - 2, new long[] { Keywords, config.Text.ContextLength });
        using (no_grad())
        {
            keywordTokens[.., 3] = Vocab - 1;
            keywordTokens[.., 4..] = 0;
        }
        ClipModel? teacher = null;
        if (lossConfig.NeedsTeacher)
        {
            teacher = new ClipModel(config);
            teacher.load_state_dict(model.state_dict());
        }
        using var trainer = new Trainer(
            model,
            loss,
            TrainConfigValidator.ValidateSettings(train, startsFromWeights: teacher is not null),
            device,
            1000,
            keywordTokens,
            teacher
        );
        bool unpaired = loss.Config.UsesUnpaired;
        int paired = unpaired ? batchSize / 2 : batchSize,
            size = config.Vision.ImageSize;
        TrainBatch Batch()
        {
            var tokens = randint(1, Vocab - 2, new long[] { paired, config.Text.ContextLength });
            tokens[.., 12] = Vocab - 1;
            tokens[.., 13..] = 0;
            return new TrainBatch
            {
                Position = new LoaderPosition(0, 0),
                Next = new LoaderPosition(0, 1),
                Images = randn(paired, 3, size, size),
                Tokens = tokens,
                Unpaired = unpaired ? randn(batchSize - paired, 3, size, size) : null,
                KeywordLabels = unpaired ? rand(paired, Keywords).LessThan(0.1).to(float32) : null,
            };
        }
        using var batch = Batch();
        for (int s = 0; s < warmup; s++)
            trainer.Step(batch, s);
        if (device.type == TorchSharp.DeviceType.CUDA)
            cuda.synchronize();
        var sw = Stopwatch.StartNew();
        for (int s = 0; s < steps; s++)
            trainer.Step(batch, warmup + s);
        if (device.type == TorchSharp.DeviceType.CUDA)
            cuda.synchronize();
        double stepMs = sw.Elapsed.TotalMilliseconds / steps;

        trainer.ComputeGradients(batch, 0);
        var adam = Stopwatch.StartNew();
        for (int s = 0; s < 10; s++)
            trainer.Optimizer.Update(1e-6);
        if (device.type == TorchSharp.DeviceType.CUDA)
            cuda.synchronize();
        teacher?.Dispose();
        return (stepMs, adam.Elapsed.TotalMilliseconds / 10);
    }

    /// <summary>Best time of a 3×3 convolution (128→128 channels on 28×28 maps, RN50's third stage) in GFLOP/s.
    /// </summary>
    static double MeasureConvGflops(Device device, int batch)
    {
        using var scope = NewDisposeScope();
        var x = randn(batch, 128, 28, 28, device: device);
        var w = randn(128, 128, 3, 3, device: device);
        for (int i = 0; i < 2; i++)
            nn.functional.conv2d(x, w, padding: [1, 1]).Dispose();
        double best = double.MaxValue;
        for (int r = 0; r < 5; r++)
        {
            var sw = Stopwatch.StartNew();
            using (nn.functional.conv2d(x, w, padding: [1, 1]))
                if (device.type == TorchSharp.DeviceType.CUDA)
                    cuda.synchronize(device);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return 2.0 * batch * 28 * 28 * 9 * 128 * 128 / best / 1e9;
    }

    /// <summary>The PyTorch peer's CLIP step on the same architecture, batch, optimiser and threads, run as a child
    /// process of this benchmark; NaN (with the reason printed) when the peer cannot run.</summary>
    static double PeerStepMs(string python, ClipConfig config, int batch, int steps, int warmup, Device device)
    {
        var configPath = Path.Combine(Path.GetTempPath(), $"semiclip-peer-{Environment.ProcessId}.json");
        File.WriteAllText(configPath, config.ToJson());
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (
            var a in new[]
            {
                Path.Combine(BenchReport.RepoRoot(), PeerScript),
                "--config",
                configPath,
                "--batch",
                batch.ToString(Inv),
                "--steps",
                steps.ToString(Inv),
                "--warmup",
                warmup.ToString(Inv),
                "--threads",
                get_num_threads().ToString(Inv),
                "--device",
                device.type == TorchSharp.DeviceType.CUDA ? "cuda" : "cpu",
            }
        )
            start.ArgumentList.Add(a);
        // OPENBLAS_CORETYPE pins Debian's OpenBLAS to a slower kernel where a session sets it; the peer runs without.
        start.Environment.Remove("OPENBLAS_CORETYPE");
        // The same heap policy as this process (NativeHeap.KeepFreedMemory), through glibc's environment variables:
        // the comparison is of the steps, not of two allocator settings.
        start.Environment["MALLOC_MMAP_MAX_"] = "0";
        start.Environment["MALLOC_TRIM_THRESHOLD_"] = "68719476736";
        try
        {
            var (last, exitCode, errors) = JsonResultOf(start);
            if (last is null)
            {
                Console.WriteLine($"PyTorch peer failed ({exitCode}): {errors}");
                return double.NaN;
            }
            using var doc = System.Text.Json.JsonDocument.Parse(last);
            Console.WriteLine($"PyTorch peer: {last}");
            return doc.RootElement.GetProperty("step_ms").GetDouble();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.WriteLine($"PyTorch peer not started ({python}): {e.Message}");
            return double.NaN;
        }
        finally
        {
            File.Delete(configPath);
        }
    }

    /// <summary>Time from a training command's start to its first finished step, split into its phases, on 2,000
    /// synthetic 64 px images (the library call the CLI makes; the dotnet host's own start is not included).</summary>
    static string StartupSection(string work, out object record)
    {
        var dir = Path.Combine(work, "startup2k");
        if (!File.Exists(Path.Combine(dir, "train.jsonl")))
            SyntheticDataset.Generate(
                dir,
                new SyntheticDataset.Options
                {
                    TrainPerClass = 200,
                    TestPerClass = 0,
                    ImageSize = 64,
                    Seed = 12,
                }
            );
        File.WriteAllLines(Path.Combine(dir, "kw.txt"), ["harbour", "forest", "river"]);
        var runs = Path.Combine(work, "startup-runs");
        if (Directory.Exists(runs))
            Directory.Delete(runs, true);
        var clock = Stopwatch.StartNew();
        var config = TrainConfig.Load(
            null,
            [
                $"train_data={System.Text.Json.JsonSerializer.Serialize(Path.Combine(dir, "train.jsonl"))}",
                $"runs_dir={System.Text.Json.JsonSerializer.Serialize(runs)}",
                "run_name=\"s\"",
                "method=\"sclip\"",
                "label_ratio=0.1",
                "batch_size=64",
                "steps=1",
                "device=\"cpu\"",
                $"keywords={System.Text.Json.JsonSerializer.Serialize(Path.Combine(dir, "kw.txt"))}",
            ]
        );
        using var session = new TrainingSession(config, resume: false);
        double built = clock.Elapsed.TotalSeconds;
        session.Train();
        double firstStep = clock.Elapsed.TotalSeconds;
        record = new
        {
            images = 2000,
            session_seconds = built,
            first_step_seconds = firstStep,
        };
        Console.WriteLine($"startup: session {built:F2} s, first step done {firstStep:F2} s");
        return $"## Startup\n\nFrom the library call `semiclip train` makes to the end of the first S-CLIP step, "
            + $"2,000 synthetic 64 px images: "
            + $"session built (config checked, captions read and split, model and tokenizer built) **{built:F2} s**, "
            + $"first step finished **{firstStep:F2} s**.\n\n";
    }
}
