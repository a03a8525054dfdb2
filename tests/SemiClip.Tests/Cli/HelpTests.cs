using System.CommandLine;
using SemiClip.Training;

namespace SemiClip.Tests.Cli;

/// <summary>Help that answers: every option says what it does, and every config field is explained once,
/// in the source that both --print-config and docs/config.md use.</summary>
public class HelpTests
{
    static IEnumerable<Command> All(Command c) => new[] { c }.Concat(c.Subcommands.SelectMany(All));

    [Fact]
    public void EveryCliOptionAndArgumentHasADescription()
    {
        var missing = All(SemiClip.Cli.Program.BuildRoot())
            .SelectMany(c =>
                c.Options.Where(o =>
                        !o.Name.StartsWith("--help", StringComparison.Ordinal)
                        && o.Name is not ("-h" or "-?" or "--version")
                    )
                    .Where(o => string.IsNullOrWhiteSpace(o.Description))
                    .Select(o => $"{c.Name} {o.Name}")
                    .Concat(
                        c.Arguments.Where(a => string.IsNullOrWhiteSpace(a.Description))
                            .Select(a => $"{c.Name} <{a.Name}>")
                    )
            )
            .ToList();
        Assert.True(missing.Count == 0, "options without a description: " + string.Join(", ", missing));
    }

    [Fact]
    public void EveryConfigFieldIsExplainedAndTheReadmeListsItsDefault()
    {
        var fields = ConfigReference.Fields(new TrainConfig()).Select(f => f.Field).ToList();
        Assert.Contains("loss.soft_alpha", fields);
        var undocumented = fields.Where(f => !ConfigReference.Meaning.ContainsKey(f)).ToList();
        Assert.True(
            undocumented.Count == 0,
            "config fields without a meaning in ConfigReference: " + string.Join(", ", undocumented)
        );
        var stale = ConfigReference.Meaning.Keys.Except(fields).ToList();
        Assert.True(stale.Count == 0, "ConfigReference explains fields that do not exist: " + string.Join(", ", stale));

        var reference = File.ReadAllText(Path.Combine(Support.SharedFiles.RepoRoot, "docs", "config.md"));
        Assert.True(
            reference.Contains(ConfigReference.Markdown(), StringComparison.Ordinal),
            "docs/config.md is out of date; paste the output of `semiclip train --print-config --markdown`."
        );
    }

    [Fact]
    public void PrintConfigShowsEffectiveValuesDefaultsAndMeanings()
    {
        var text = ConfigReference.Render(TrainConfig.Load(null, ["lr=0.001", "loss.soft_alpha=0.5"]));
        Assert.Contains("lr = 0.001   (default 0.0005)   # peak learning rate", text);
        Assert.Contains("loss.soft_alpha = 0.5   (default 0.2)", text);
        Assert.Contains("batch_size = 32   # images per step", text);
        Assert.DoesNotContain("(undocumented)", text);
    }
}
