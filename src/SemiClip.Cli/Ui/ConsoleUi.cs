using Spectre.Console;

namespace SemiClip.Cli.Ui;

/// <summary>Spectre.Console tables and progress bars on a terminal; plain lines when output is
/// redirected (CI, log files), so logs stay greppable.</summary>
public static class ConsoleUi
{
    public static bool Interactive { get; set; } =
        !Console.IsOutputRedirected
        && AnsiConsole.Profile.Capabilities.Interactive
        && Environment.GetEnvironmentVariable("CI") == null;

    public static void Line(string text)
    {
        if (Interactive)
            AnsiConsole.MarkupLine(Markup.Escape(text));
        else
            Console.WriteLine(text);
    }

    public static void Heading(string text)
    {
        if (Interactive)
            AnsiConsole.Write(new Rule($"[bold]{Markup.Escape(text)}[/]").LeftJustified());
        else
            Console.WriteLine($"== {text}");
    }

    public static void Table(string title, IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<string>> rows)
    {
        var materialised = rows.ToList();
        if (Interactive)
        {
            var table = new Table { Title = new TableTitle(Markup.Escape(title)) };
            foreach (var c in columns)
                table.AddColumn(Markup.Escape(c));
            foreach (var r in materialised)
                table.AddRow(r.Select(Markup.Escape).ToArray());
            AnsiConsole.Write(table);
            return;
        }
        Console.WriteLine($"== {title}");
        var widths = columns
            .Select((c, i) => Math.Max(c.Length, materialised.Count == 0 ? 0 : materialised.Max(r => r[i].Length)))
            .ToArray();
        Console.WriteLine(string.Join("  ", columns.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        foreach (var r in materialised)
            Console.WriteLine(string.Join("  ", r.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
    }

    /// <summary>Runs <paramref name="work"/> with a progress bar; the callback takes (done, total, status).
    /// Redirected output gets a line at most every few seconds.</summary>
    public static T Progress<T>(string label, long total, Func<Action<long, string>, T> work)
    {
        if (Interactive)
        {
            T result = default!;
            AnsiConsole
                .Progress()
                .AutoClear(false)
                .Columns(
                    new TaskDescriptionColumn(),
                    new ProgressBarColumn(),
                    new PercentageColumn(),
                    new RemainingTimeColumn()
                )
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(label), maxValue: Math.Max(1, total));
                    result = work(
                        (done, status) =>
                        {
                            task.Value = done;
                            task.Description = Markup.Escape(
                                string.IsNullOrEmpty(status) ? label : $"{label} {status}"
                            );
                        }
                    );
                    task.Value = task.MaxValue;
                });
            return result;
        }
        var last = DateTime.MinValue;
        var r = work(
            (done, status) =>
            {
                if (done < total && (DateTime.UtcNow - last).TotalSeconds < 5)
                    return;
                last = DateTime.UtcNow;
                Console.WriteLine($"{label} {done}/{total} {status}".TrimEnd());
            }
        );
        return r;
    }

    /// <summary>As <see cref="Progress{T}"/>, for work that learns its total as it goes: the callback takes (done,
    /// total).</summary>
    public static T Counting<T>(string label, Func<Action<long, long>, T> work)
    {
        if (Interactive)
        {
            T result = default!;
            AnsiConsole
                .Progress()
                .AutoClear(true)
                .Columns(
                    new TaskDescriptionColumn(),
                    new ProgressBarColumn(),
                    new PercentageColumn(),
                    new RemainingTimeColumn()
                )
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(label), maxValue: 1);
                    result = work(
                        (done, total) =>
                        {
                            task.MaxValue = Math.Max(1, total);
                            task.Value = done;
                        }
                    );
                    task.Value = task.MaxValue;
                });
            return result;
        }
        var last = DateTime.MinValue;
        return work(
            (done, total) =>
            {
                if (done < total && (DateTime.UtcNow - last).TotalSeconds < 5)
                    return;
                last = DateTime.UtcNow;
                Console.WriteLine($"{label} {done}/{total}");
            }
        );
    }
}
