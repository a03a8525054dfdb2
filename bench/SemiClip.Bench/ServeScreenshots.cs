using PuppeteerSharp;
using SemiClip.Serve;

namespace SemiClip.Bench;

/// <summary><c>bench serve-screenshots --model RUN</c>: starts <c>semiclip serve</c> on a run (its own split of its own
/// data), drives headless Chromium through each page — a text query, the pseudo-labels sorted by confidence, Caption
/// next with one caption typed and saved (to a scratch file), the run's curves — and saves a screenshot of each for
/// the README (docs/serve/). Used with a model trained by <c>bench real</c> on RSICD-10k.</summary>
public static class ServeScreenshots
{
    public static int Run(string[] args)
    {
        var model = BenchReport.Option(args, "--model", "");
        if (model.Length == 0)
        {
            Console.Error.WriteLine("give --model RUN (a run folder from bench real)");
            return 2;
        }
        var outDir = BenchReport.Option(args, "--out", Path.Combine(BenchReport.RepoRoot(), "docs", "serve"));
        var query = BenchReport.Option(args, "--query", "many planes are parked next to a long building in an airport");
        var chromium = Environment.GetEnvironmentVariable("SEMICLIP_CHROMIUM") ?? "/usr/bin/chromium";
        Directory.CreateDirectory(outDir);
        var scratch = Path.Combine(Path.GetTempPath(), $"semiclip-serve-shots-{Guid.NewGuid():N}.jsonl");
        Shoot(
                new ServeOptions
                {
                    Model = model,
                    Port = 0,
                    SaveCaptions = scratch,
                    Device = "cpu",
                },
                outDir,
                query,
                chromium
            )
            .GetAwaiter()
            .GetResult();
        Console.WriteLine($"the caption typed on Caption next went to {scratch}:\n{File.ReadAllText(scratch)}");
        File.Delete(scratch);
        return 0;
    }

    static async Task Shoot(ServeOptions options, string outDir, string query, string chromium)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var server = await ServeApp.StartAsync(options);
        await server.Loaded;
        if (server.State.Error is { } error)
            throw new InvalidOperationException(error);
        double loadSeconds = clock.Elapsed.TotalSeconds;
        var loaded = server.State.Collection!;
        Console.WriteLine($"loaded {loaded.Images.Count} images in {loadSeconds:F0} s");
        var labelled = loaded.PseudoLabels.Rows.Where(r => r.ClassRight != null).ToList();
        int right = labelled.Count(r => r.ClassRight == true);
        var summary = new
        {
            model = options.Model,
            images = loaded.Images.Count,
            captioned = loaded.PairedIndices.Count,
            unpaired = loaded.UnpairedIndices.Count,
            load_seconds = loadSeconds,
            planned = loaded.PseudoLabels.Rows.Count,
            labelled = labelled.Count,
            top_caption_class_right = right,
        };
        BenchReport.Write(
            BenchReport.ResultsDir([]),
            "serve-rsicd",
            summary,
            $"# `semiclip serve` on RSICD-10k\n\nModel: `{options.Model}` (its own split of its training data).\n\n"
                + "| images | captioned | unpaired | load s (embed + plan, 2 cores) | top caption's class right |\n"
                + "|---|---|---|---|---|\n"
                + $"| {loaded.Images.Count} | {loaded.PairedIndices.Count} | {loaded.UnpairedIndices.Count} "
                + $"| {loadSeconds:F0} | {right} of {labelled.Count} "
                + $"({100.0 * right / Math.Max(1, labelled.Count):F1}%) |\n\n"
                + "Screenshots: docs/serve/.\n\n"
                + $"Made by `{BenchReport.CommandLine()}`.\n"
        );
        await using var browser = await Puppeteer.LaunchAsync(
            new LaunchOptions
            {
                ExecutablePath = chromium,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            }
        );
        await using var page = await browser.NewPageAsync();
        await page.SetViewportAsync(new ViewPortOptions { Width = 1280, Height = 900 });
        var wait = new WaitForSelectorOptions { Timeout = 120_000 };
        string Url(string path) => new Uri(server.Address, path).ToString();
        async Task AllImagesLoaded() =>
            await page.WaitForFunctionAsync(
                "() => [...document.images].every(i => i.complete)",
                new WaitForFunctionOptions { Timeout = 60_000 }
            );
        async Task Save(string name)
        {
            await AllImagesLoaded();
            await page.ScreenshotAsync(Path.Combine(outDir, name), new ScreenshotOptions { Type = ScreenshotType.Png });
            Console.WriteLine($"wrote {Path.Combine(outDir, name)}");
        }

        await page.GoToAsync(Url("/"));
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent.includes('captioned')");
        await page.TypeAsync("#query", query);
        await page.ClickAsync("#go");
        await page.WaitForSelectorAsync(".result img", wait);
        await Save("search.png");

        await page.GoToAsync(Url("/pseudo"));
        await page.WaitForSelectorAsync(".pseudo", wait);
        await Save("pseudo-labels.png");

        await page.GoToAsync(Url("/caption"));
        await page.WaitForSelectorAsync(".suggestion textarea", wait);
        await page.EvaluateExpressionAsync("document.querySelector('.suggestion textarea').value = ''");
        await page.TypeAsync(".suggestion textarea", "a sample caption typed for the screenshot");
        await page.ClickAsync(".suggestion .save");
        await page.WaitForSelectorAsync(".saved.right", wait);
        await Save("caption-next.png");

        await page.GoToAsync(Url("/runs"));
        await page.WaitForSelectorAsync("#curves-img", wait);
        await page.WaitForFunctionAsync(
            "() => { const i = document.getElementById('curves-img'); return i.complete && i.naturalWidth > 0; }",
            new WaitForFunctionOptions { Timeout = 60_000 }
        );
        await page.ScreenshotAsync(
            Path.Combine(outDir, "runs.png"),
            new ScreenshotOptions { Type = ScreenshotType.Png, FullPage = true }
        );
        Console.WriteLine($"wrote {Path.Combine(outDir, "runs.png")}");
    }
}
