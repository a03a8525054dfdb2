using System.Diagnostics;

namespace SemiClip.Tests.Support;

/// <summary>Starts the real <c>semiclip</c> CLI (SemiClip.Cli.dll beside the tests) as a child process.</summary>
public static class CliProcess
{
    /// <summary>Starts the CLI for a test that signals it: SIGINT inherited as ignored is made the default first (see
    /// <see cref="InheritedSignals"/>), so the child hears Ctrl-C however the suite was launched.</summary>
    public static Process Start(params string[] args) => Start(null, args);

    /// <summary>As <see cref="Start(string[])"/>, with every line of stdout and stderr passed to
    /// <paramref name="onLine"/> from the first one on.</summary>
    public static Process Start(Action<string?>? onLine, params string[] args)
    {
        InheritedSignals.RestoreInterrupt();
        var dll = Path.Combine(AppContext.BaseDirectory, "SemiClip.Cli.dll");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        psi.Environment["CI"] = "1"; // plain output
        var p = new Process { StartInfo = psi };
        if (onLine != null)
        {
            p.OutputDataReceived += (_, e) => onLine(e.Data);
            p.ErrorDataReceived += (_, e) => onLine(e.Data);
        }
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    public static (int ExitCode, string Output) Run(params string[] args) => Run(null, args);

    /// <summary>Trains run <paramref name="run"/> for one step through the CLI on <see cref="TinySetup.Write"/>'s
    /// data (its settings in <paramref name="common"/>) and returns its folder; a failure fails the test.</summary>
    public static string TrainTiny(TempDir dir, List<string> common, string run = "m")
    {
        var (code, output) = Run(
            new[] { "train", "--run-name", run }
                .Concat(common.Append("steps=1").SelectMany(o => new[] { "--set", o }))
                .ToArray()
        );
        Assert.True(code == 0, output);
        return dir.File($"runs/{run}");
    }

    /// <summary>As <see cref="Run(string[])"/>, with extra environment variables for the child.</summary>
    public static (int ExitCode, string Output) Run(IReadOnlyDictionary<string, string>? environment, string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "SemiClip.Cli.dll");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        psi.Environment["CI"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(true);
            throw new TimeoutException("semiclip " + string.Join(' ', args));
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
