using SemiClip.Data;
using SemiClip.Losses;
using SemiClip.Model;
using SemiClip.Tests.Support;
using SemiClip.Training;
using static TorchSharp.torch;

namespace SemiClip.Tests.Training;

/// <summary>The trainer gathers what an objective declares and knows no method by name: a new objective
/// needs only its own class.</summary>
public class ObjectiveNeedsTests
{
    /// <summary>A toy objective defined only here: pulls unpaired images towards the teacher's view of the
    /// paired images, and records what it was handed.</summary>
    sealed class ToyObjective(ObjectiveNeeds needs) : ITrainingObjective
    {
        public ObjectiveNeeds Needs { get; } = needs;
        public List<string> Seen { get; } = new();

        public LossOutput Compute(LossInputs x)
        {
            Seen.Clear();
            if (x.UnpairedFeatures is not null)
                Seen.Add("unpaired");
            if (x.KeywordFeatures is not null)
                Seen.Add("keywords");
            if (x.ImageTokens is not null && x.TextTokens is not null)
                Seen.Add("tokens");
            if (x.TeacherImageFeatures is not null && x.TeacherTextFeatures is not null)
                Seen.Add("teacher");
            if (x.Support is not null)
                Seen.Add("support");
            var output = new LossOutput();
            output.Add("toy", x.ImageFeatures.matmul(x.TextFeatures.t()).diagonal().mean().neg());
            return output;
        }
    }

    [Theory]
    [InlineData(ObjectiveInput.None, 0, "")]
    [InlineData(ObjectiveInput.UnpairedImages | ObjectiveInput.TeacherFeatures, 0, "teacher unpaired")]
    [InlineData(ObjectiveInput.TokenFeatures | ObjectiveInput.KeywordFeatures, 0, "keywords tokens")]
    [InlineData(ObjectiveInput.UnpairedImages, 16, "support unpaired")]
    public void TheTrainerHandsAnObjectiveExactlyWhatItDeclares(ObjectiveInput inputs, int queue, string expected)
    {
        var toy = new ToyObjective(new ObjectiveNeeds(inputs, queue));
        using var seeded = new Generator(4);
        using var model = new ClipModel(TinySetup.Model(100), seeded);
        ClipModel? teacher = null;
        if (toy.Needs.Has(ObjectiveInput.TeacherFeatures))
        {
            teacher = new ClipModel(TinySetup.Model(100), seeded);
            teacher.load_state_dict(model.state_dict());
        }
        using var keywords = zeros(new long[] { 3, 24 }, int64);
        var config = TrainConfig.Load(null) with { WarmupSteps = 1 };
        using var trainer = new Trainer(
            model,
            toy,
            TrainConfigValidator.ValidateSettings(config),
            CPU,
            4,
            keywords,
            teacher
        );
        var random = TrainerTests.RandomBatch(8, 8, 1);
        using var batch = new TrainBatch
        {
            Position = random.Position,
            Next = random.Next,
            Images = random.Images,
            Tokens = random.Tokens,
            Unpaired = random.Unpaired,
            KeywordLabels = zeros(8, 3),
        };
        var parts = trainer.Step(batch, 0).Losses;
        Assert.Equal(["toy"], parts.Keys);
        Assert.Equal(expected, string.Join(' ', toy.Seen.Order(StringComparer.Ordinal)));
        teacher?.Dispose();
    }
}
