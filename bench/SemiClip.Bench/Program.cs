using SemiClip.Bench;

// As the CLI does: large CPU tensors come from a heap that keeps freed memory (SemiClip.Runtime.NativeHeap).
bool keptFreedMemory = SemiClip.Runtime.NativeHeap.KeepFreedMemory();
Console.WriteLine($"native heap keeps freed memory: {(keptFreedMemory ? "yes" : "no")}");

return args.FirstOrDefault() switch
{
    "speed" => SpeedBenchmark.Run(args.Skip(1).ToArray()),
    "accuracy" => AccuracyBenchmark.Run(args.Skip(1).ToArray()),
    "real" => RealDataBenchmark.Run(args.Skip(1).ToArray()),
    "stress" => StressBenchmark.Run(args.Skip(1).ToArray()),
    "memory" => MemoryBenchmark.Run(args.Skip(1).ToArray()),
    "shards" => ShardMemoryBenchmark.Run(args.Skip(1).ToArray()),
    "shards-train" => ShardMemoryBenchmark.Train(args.Skip(1).ToArray()),
    "onnx" => OnnxBenchmark.Run(args.Skip(1).ToArray()),
    "export-check" => ExportCheck.Run(args.Skip(1).ToArray()),
    "reference-export" => ReferenceExport.Run(args.Skip(1).ToArray()),
    "paper-recipe" => PaperRecipeBenchmark.Run(args.Skip(1).ToArray()),
    "profile" => ProfileBenchmark.Run(args.Skip(1).ToArray()),
    "retrieval-scale" => RetrievalScaleBenchmark.Run(args.Skip(1).ToArray()),
    "encode" => EncodeThroughputBenchmark.Run(args.Skip(1).ToArray()),
    "pretrained-start" => PretrainedStartBenchmark.Run(args.Skip(1).ToArray()),
    "real-start" => RealStartBenchmark.Run(args.Skip(1).ToArray()),
    "serve-search" => ServeSearchBenchmark.Run(args.Skip(1).ToArray()),
    "serve-screenshots" => ServeScreenshots.Run(args.Skip(1).ToArray()),
    _ => Usage(),
};

static int Usage()
{
    Console.WriteLine(
        "usage: SemiClip.Bench speed [--device cpu|cuda] [--big | --models ViT-B-32,RN50] [--methods clip,...] "
            + "[--big-batch 64] [--big-steps N] [--peer python3] [--steps-only] [--no-tiny] [--report NAME] "
            + "[--out bench/results] | paper-recipe [--steps 3] [--data DIR] [--set k=v;...] "
            + "| profile [--batches 32,64] | accuracy [--quick] "
            + "[--out bench/results] | stress [--minutes 10] [--control] | real [--quick] [--data DIR] [--seeds 0,1,2] "
            + "[--regimes pretrained,scratch] [--steps N] [--set key=v;...] [--tag T] | memory | shards [--sizes "
            + "10000,100000] [--steps 150] "
            + "| onnx [--models tiny-vit,ViT-B-32] [--images 64] [--texts 128] | export-check [--out DIR] "
            + "| reference-export [--out DIR] [--seeds 0,1,2] (then bench/reference/sclip_reference.py) "
            + "| retrieval-scale [--sizes 10000x50000,100000x500000] | encode [--images DIR] [--count 512] "
            + "| pretrained-start [--data DIR] [--steps 300] [--seeds 0,1,2] [--methods clip,sclip] "
            + "[--models ViT-B-32] | real-start [--data DIR] [--seeds 0,1,2] [--regimes unaligned,aligned] "
            + "[--only SETTING,…] | serve-search [--sizes 100000] [--models "
            + "tiny-vit,ViT-B-32] | serve-screenshots --model RUN"
    );
    return 2;
}
