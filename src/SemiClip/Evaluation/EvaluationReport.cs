namespace SemiClip.Evaluation;

/// <summary>What <c>semiclip eval</c> measures, written as report.json and report.md.</summary>
public sealed record EvaluationReport
{
    public string Model { get; init; } = "";
    public ZeroShotSection? ZeroShot { get; init; }
    public RetrievalSection? Retrieval { get; init; }
    public LinearProbeSection? LinearProbe { get; init; }
    public List<string> SkippedInputs { get; init; } = new();

    public sealed record ZeroShotSection(
        string Dataset,
        int Images,
        int Classes,
        int Templates,
        double Top1,
        double Top5,
        Dictionary<string, double> PerClass,
        long[][] Confusion
    );

    public sealed record RetrievalSection(
        string Dataset,
        int Images,
        int Captions,
        double ImageToTextR1,
        double ImageToTextR5,
        double ImageToTextR10,
        double TextToImageR1,
        double TextToImageR5,
        double TextToImageR10,
        double MeanRecall
    )
    {
        /// <summary>How recall was computed (<see cref="RetrievalProtocol"/>), named in every report.</summary>
        public string Protocol { get; init; } = "all-captions";
    }

    public sealed record LinearProbeSection(
        string TrainDataset,
        string TestDataset,
        double TestAccuracy,
        double ChosenL2
    );
}
