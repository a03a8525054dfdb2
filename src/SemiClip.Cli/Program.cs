using System.CommandLine;
using SemiClip.Cli.Commands;

namespace SemiClip.Cli;

public static class Program
{
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("SemiClip: adapt CLIP image-text models to specialist domains with S-CLIP and SoftCLIP.");
        foreach (var c in new[] { DemoCommand.Create(), TrainCommand.Create(), EvalCommand.Create(), ReportCommand.Create(), EmbedCommand.CreateEmbed(),
                                  EmbedCommand.CreateSearch(), SuggestCommand.Create(), InterpolateCommand.Create(), DataCommand.Create(),
                                      ShardCommand.Create(),
                                      KeywordsCommand.Create(), SynthCommand.Create(), InfoCommand.Create(),
                                  DoctorCommand.Create() })
            root.Subcommands.Add(c);
        return root;
    }

    public static int Main(string[] args)
    {
        var parse = BuildRoot().Parse(args);
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            foreach (var inner in e.Flatten().InnerExceptions.Take(5)) Console.Error.WriteLine($"semiclip: {inner.Message}");
            return 1;
        }
        catch (Exception e)
        {
            // Errors name the file, line or field themselves; the stack trace is for bug reports.
            Console.Error.WriteLine($"semiclip: {FlagHints.Annotate(e.Message)}");
            if (Environment.GetEnvironmentVariable("SEMICLIP_TRACE") == "1") Console.Error.WriteLine(e);
            return 1;
        }
    }
}
