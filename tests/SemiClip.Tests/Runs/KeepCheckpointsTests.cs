using SemiClip.Runs;
using SemiClip.Tests.Support;
using SemiClip.Training;

namespace SemiClip.Tests.Runs;

public class KeepCheckpointsTests
{
    [Fact]
    public void OnlyTheNewestCheckpointsStayAndZeroIsRefused()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var config = TrainConfig.Load(
            null,
            common.Concat(["run_name=\"k\"", "steps=5", "checkpoint_every=1", "keep_checkpoints=3"])
        );
        using (var session = new TrainingSession(config, resume: false))
            session.Train();
        var kept = Directory
            .GetFiles(dir.File("runs/k/checkpoints"))
            .Select(f => Path.GetFileName(f))
            .Order()
            .ToArray();
        Assert.Equal(["step-00000003.safetensors", "step-00000004.safetensors", "step-00000005.safetensors"], kept);
        var e = Assert.ThrowsAny<Exception>(() =>
            TrainConfigValidator.Validate(TrainConfig.Load(null, common.Append("keep_checkpoints=0")))
        );
        Assert.Contains("config field keep_checkpoints: must be at least 1 (got 0)", e.Message);
    }
}
