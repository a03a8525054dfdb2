using System.CommandLine;
using System.CommandLine.Help;
using System.Reflection;
using SemiClip.Cli.Commands;

namespace SemiClip.Cli;

public static class Program
{
    /// <summary>The command tree. The root is named "semiclip", as the installed tool is, rather than after the
    /// assembly (SemiClip.Cli), so usage lines show what the user types.</summary>
    public static Command BuildRoot()
    {
        var root = new Command(
            "semiclip",
            "SemiClip: adapt CLIP image-text models to specialist domains with S-CLIP and SoftCLIP."
        )
        {
            new HelpOption(),
            new VersionOption(),
        };
        foreach (
            var c in new[]
            {
                DemoCommand.Create(),
                TrainCommand.Create(),
                EvalCommand.Create(),
                ReportCommand.Create(),
                EmbedCommand.CreateEmbed(),
                EmbedCommand.CreateSearch(),
                SuggestCommand.Create(),
                InterpolateCommand.Create(),
                DataCommand.Create(),
                ShardCommand.Create(),
                KeywordsCommand.Create(),
                SynthCommand.Create(),
                InfoCommand.Create(),
                ExportCommand.Create(),
                ServeCommand.Create(),
                DoctorCommand.Create(),
            }
        )
            root.Subcommands.Add(c);
        return root;
    }

    /// <summary>Whether this process's C heap keeps freed memory (<see cref="Runtime.NativeHeap"/>), set once at
    /// start; <c>semiclip doctor</c> reports it.</summary>
    public static bool HeapKeepsFreedMemory { get; private set; }

    public static int Main(string[] args)
    {
        HeapKeepsFreedMemory = Runtime.NativeHeap.KeepFreedMemory();
        ParseResult? parse = null;
        try
        {
            parse = BuildRoot().Parse(args);
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            foreach (var inner in e.Flatten().InnerExceptions.Take(5))
                Report(inner, parse);
            return 1;
        }
        catch (Exception e)
        {
            Report(e, parse);
            return 1;
        }
    }

    /// <summary>SemiClip's own errors name the file, line or field and say how to fix it: they are printed as they are.
    /// Anything else (a .NET or LibTorch failure SemiClip did not anticipate) is said in one line, without its
    /// runtime text; SEMICLIP_TRACE=1 prints the whole exception for a bug report.</summary>
    static void Report(Exception e, ParseResult? parse)
    {
        var options = parse?.CommandResult.Command.Options.SelectMany(o => o.Aliases.Append(o.Name)).ToHashSet();
        Console.Error.WriteLine($"semiclip: {UserMessage(e, options)}");
        if (Environment.GetEnvironmentVariable("SEMICLIP_TRACE") == "1")
            Console.Error.WriteLine(e);
    }

    static string? QuotedPath(string message) =>
        System.Text.RegularExpressions.Regex.Match(message, "'([^']*[/\\\\][^']*)'") is { Success: true } m
            ? m.Groups[1].Value
            : null;

    /// <param name="commandOptions">The failing command's options, so hints name only flags it has.</param>
    public static string UserMessage(Exception e, IReadOnlyCollection<string>? commandOptions = null)
    {
        if (e is TargetInvocationException { InnerException: { } inner })
            e = inner;
        // SemiClip's own errors: its exception types, and the plain ones it throws on purpose from its own code. A
        // runtime fault inside SemiClip (divide by zero, a null, an index out of range) is a bug, not a message.
        bool thrownBySemiClip =
            e.TargetSite?.DeclaringType?.Namespace?.StartsWith("SemiClip", StringComparison.Ordinal) == true;
        bool deliberate =
            e.GetType() == typeof(ArgumentException)
            || e.GetType() == typeof(InvalidOperationException)
            || e.GetType() == typeof(NotSupportedException)
            || e is InvalidDataException or IOException;
        bool ours =
            e.GetType().Namespace?.StartsWith("SemiClip", StringComparison.Ordinal) == true
            || thrownBySemiClip && deliberate;
        if (ours)
            return FlagHints.Describe(e, commandOptions);
        return e switch
        {
            // File-system errors name the path; that is the part the user can act on.
            FileNotFoundException { FileName: { } file } => $"{file}: not found.",
            // A file-system failure .NET words with the path in quotes: the path, then the reason in a few words.
            UnauthorizedAccessException or IOException when QuotedPath(e.Message) is { } path =>
                $"{path}: {IO.FileErrors.Reason(e)}.",
            OutOfMemoryException or InsufficientExecutionStackException =>
                "out of memory: use a smaller batch_size or image size.",
            System.Runtime.InteropServices.ExternalException =>
                $"LibTorch failed: {Runtime.NativeFailure.FirstLine(e.Message)} "
                    + "(set SEMICLIP_TRACE=1 for the details).",
            _ => $"unexpected {e.GetType().Name} inside SemiClip; this is a bug (set SEMICLIP_TRACE=1 and report what "
                + $"it prints).",
        };
    }
}
