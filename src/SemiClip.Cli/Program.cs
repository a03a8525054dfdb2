using System.CommandLine;
using SemiClip.Cli.Commands;

namespace SemiClip.Cli;

public static class Program
{
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("SemiClip: adapt CLIP image-text models to specialist domains with S-CLIP and SoftCLIP.");
        root.Subcommands.Add(DoctorCommand.Create());
        return root;
    }

    public static int Main(string[] args)
    {
        var parse = BuildRoot().Parse(args);
        try
        {
            return parse.Invoke();
        }
        catch (Exception e)
        {
            // Errors name the file, line or field themselves; the stack trace is for bug reports.
            Console.Error.WriteLine($"semiclip: {e.Message}");
            if (Environment.GetEnvironmentVariable("SEMICLIP_TRACE") == "1") Console.Error.WriteLine(e);
            return 1;
        }
    }
}
