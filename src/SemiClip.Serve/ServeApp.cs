using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SemiClip.Data.Images;
using SemiClip.Evaluation;
using static TorchSharp.torch;

namespace SemiClip.Serve;

/// <summary>Where loading stands; the pages poll it and show a progress bar until <see cref="Collection"/> is
/// set.</summary>
public sealed class LoadState
{
    public volatile Collection? Collection;
    public volatile string Stage = "starting";
    public long Done,
        Total;
    public volatile string? Error;
}

/// <summary><c>semiclip serve</c>: four pages over one adapted model — Search, Pseudo-labels, Caption next, Runs — and
/// the JSON they read. The server answers at once; the model and the embeddings load in the background (pages that
/// need them show the progress), and the Runs page needs neither.</summary>
public sealed class ServeApp : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly LoadState _state = new();
    readonly Task _loading;
    readonly object _modelGate = new();
    readonly ImageRoots _roots;
    readonly CaptionJournal? _journal;
    SemiClip.IO.OutputLock? _journalLock;
    readonly ServeOptions _options;
    public Uri Address { get; }
    public LoadState State => _state;

    /// <summary>Completes when loading finished (or failed: then <see cref="LoadState.Error"/> says why).</summary>
    public Task Loaded => _loading;

    ServeApp(
        WebApplication app,
        ServeOptions options,
        ImageRoots roots,
        CaptionJournal? journal,
        Uri address,
        CollectionLoader load
    )
    {
        (_app, _options, _roots, _journal, Address) = (app, options, roots, journal, address);
        _loading = Task.Run(() => Load(load));
    }

    /// <summary>How the collection is made: <see cref="Collection.Load"/>, or a benchmark's synthetic one.</summary>
    public delegate Collection CollectionLoader(
        ServeOptions options,
        ImageRoots roots,
        Action<string, long, long> progress
    );

    void Load(CollectionLoader load)
    {
        try
        {
            _state.Collection = load(_options, _roots, (stage, done, total) =>
            {
                _state.Stage = stage;
                Interlocked.Exchange(ref _state.Done, done);
                Interlocked.Exchange(ref _state.Total, total);
            });
            _state.Stage = "ready";
        }
        catch (Exception e)
        {
            _state.Error = e.Message;
            _state.Stage = "failed";
        }
    }

    /// <summary>The folders whose images may be served: --images, --image-root, and the caption file's folder (its
    /// image paths are relative to it) — those the command line names, and no others.</summary>
    public static IEnumerable<string> ImageFolders(ServeOptions options)
    {
        var run = Collection.RunSettings(options.Model);
        if (options.Images is { } images)
            yield return Directory.Exists(images) ? images : Path.GetDirectoryName(Path.GetFullPath(images))!;
        var captions = options.Captions ?? run?.TrainData;
        var root = options.Captions != null ? options.ImageRoot : run?.ImageRoot;
        if (root != null)
            yield return root;
        else if (captions != null && !Data.Shards.ShardPattern.IsShards(captions))
            yield return Path.GetDirectoryName(Path.GetFullPath(captions))!;
    }

    /// <summary>Starts listening (port 0 picks a free one) and begins loading in the background.</summary>
    public static async Task<ServeApp> StartAsync(ServeOptions options, CollectionLoader? load = null)
    {
        var journalPath = options.SaveCaptions
            ?? (options.Captions is { } c && c.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? c : null);
        // One writer per caption file: each save rewrites the whole file, so a second server would drop the first
        // one's captions.
        var journalLock = journalPath is null ? null : SemiClip.IO.OutputLock.Acquire(journalPath);
        try
        {
            var server = await Start(options, journalPath, load);
            server._journalLock = journalLock;
            return server;
        }
        catch
        {
            journalLock?.Dispose();
            throw;
        }
    }

    static async Task<ServeApp> Start(ServeOptions options, string? journalPath, CollectionLoader? load)
    {
        var roots = new ImageRoots(ImageFolders(options));
        var journal = journalPath is null ? null : new CaptionJournal(journalPath);
        if (!IPAddress.TryParse(options.Host, out var ip) && options.Host != "localhost")
            throw new ArgumentException(
                $"--host {options.Host}: not an IP address (127.0.0.1 serves this machine only; 0.0.0.0 every network)."
            );
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // The host's default lifetime takes over Ctrl-C and SIGTERM for the whole process; the caller decides when
        // the server stops (the CLI on Ctrl-C, a test or a benchmark when it is done), so none is registered.
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, CallerLifetime>();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxUploadBytes;
            if (ip is null)
                k.ListenLocalhost(options.Port);
            else
                k.Listen(ip, options.Port);
        });
        var app = builder.Build();
        ServeApp? server = null;
        Routes(app, () => server!);
        try
        {
            await app.StartAsync();
        }
        catch (IOException e)
            when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException
                || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
            )
        {
            await app.DisposeAsync();
            throw new InvalidOperationException(
                $"--port {options.Port}: {options.Host}:{options.Port} is already in use by another program; "
                    + "pass another --port (or --port 0 for any free one), or stop the other server."
            );
        }
        var address = new Uri(app.Urls.First().Replace("[::]", "localhost", StringComparison.Ordinal));
        server = new ServeApp(app, options, roots, journal, address, load ?? Collection.Load);
        return server;
    }

    static void Routes(WebApplication app, Func<ServeApp> server)
    {
        foreach (
            var (route, page) in new[]
            {
                ("/", "search.html"),
                ("/pseudo", "pseudo.html"),
                ("/caption", "caption.html"),
                ("/runs", "runs.html"),
                ("/app.js", "app.js"),
                ("/app.css", "app.css"),
            }
        )
            app.MapGet(route, () => Results.Bytes(Page(page), ContentType(page)));
        app.MapGet("/api/status", () => server().Status());
        app.MapGet("/img/{root:int}/{**path}", (HttpContext context, int root) => server().Image(context, root));
        app.MapGet("/api/search", (string? q, int? k) =>
            server().WithCollection(c => server().SearchText(c, q, k ?? 24))
        );
        app.MapGet("/api/similar", (int image, int? k) =>
            server().WithCollection(c => server().SearchSimilar(c, image, k ?? 24))
        );
        app.MapPost("/api/search/image", (HttpContext context, int? k) => server().SearchUpload(context, k ?? 24));
        app.MapGet("/api/pseudo", (string? sort, string? order, int? offset, int? limit) =>
            server()
                .WithCollection(c =>
                    server().PseudoLabels(c, sort ?? "confidence", order ?? "desc", offset ?? 0, limit ?? 50)
                )
        );
        app.MapGet("/api/suggest", (string? mode, int? limit, double? diversity) =>
            server().WithCollection(c => server().Suggest(c, mode ?? "score", limit ?? 24, diversity ?? 0.5))
        );
        app.MapPost("/api/captions", (CaptionRequest body) =>
            server().WithCollection(c => server().SaveCaption(c, body))
        );
        app.MapGet("/api/run", () => server().Run());
        app.MapGet("/api/run/curves.png", () => server().Curves());
    }

    public sealed record CaptionRequest(int Image, string? Caption);

    static readonly Assembly Self = typeof(ServeApp).Assembly;

    static byte[] Page(string name)
    {
        using var stream = Self.GetManifestResourceStream($"wwwroot/{name}")
            ?? throw new InvalidOperationException($"page {name} is not embedded.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    static string ContentType(string name) =>
        Path.GetExtension(name) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            ".png" => "image/png",
            ".jpg" or ".jpeg" => "image/jpeg",
            ".webp" => "image/webp",
            ".bmp" => "image/bmp",
            ".gif" => "image/gif",
            ".tif" or ".tiff" => "image/tiff",
            _ => "application/octet-stream",
        };

    IResult Status() =>
        Results.Json(
            new
            {
                ready = _state.Collection != null,
                stage = _state.Stage,
                done = Interlocked.Read(ref _state.Done),
                total = Interlocked.Read(ref _state.Total),
                error = _state.Error,
                model = _options.Model,
                captionFile = _journal?.FilePath,
                images = _state.Collection?.Images.Count,
                paired = _state.Collection?.PairedIndices.Count,
                unpaired = _state.Collection?.UnpairedIndices.Count,
                classes = _state.Collection?.ClassNames.Count,
            }
        );

    IResult WithCollection(Func<Collection, IResult> answer)
    {
        if (_state.Collection is { } c)
        {
            try
            {
                return answer(c);
            }
            catch (ArgumentException e)
            {
                return Results.BadRequest(new { error = e.Message });
            }
        }
        return Results.Json(
            new { error = _state.Error ?? $"still loading: {_state.Stage}", stage = _state.Stage },
            statusCode: 503
        );
    }

    IResult Image(HttpContext context, int root)
    {
        // The raw request target, before any decoding, so a slash hidden as %2F is seen (and refused) as such.
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var query = raw.IndexOf('?');
        if (query >= 0)
            raw = raw[..query];
        var prefix = $"/img/{root}/";
        if (!raw.StartsWith(prefix, StringComparison.Ordinal))
            return Results.NotFound(new { error = "not an image path" });
        var (file, refusal) = _roots.Resolve(root, raw[prefix.Length..]);
        if (file is null)
            return Results.NotFound(new { error = refusal });
        return Results.File(file, ContentType(file));
    }

    object Item(Collection c, int i, double? score = null)
    {
        var item = c.Images[i];
        return new
        {
            index = i,
            url = item.Url,
            path = item.Path,
            name = Path.GetFileName(item.Path),
            paired = item.Paired,
            caption = item.Captions.FirstOrDefault(),
            label = item.Label,
            score,
        };
    }

    IResult Results_(Collection c, Tensor query, int k, long started, string? excluding = null)
    {
        int top = Math.Clamp(k, 1, 200);
        var (scores, indices) = IndexSearch.TopK(c.Features, query, Math.Min(top, (int)c.Features.shape[0]));
        using var picked = c.Features.index_select(0, tensor(indices));
        var labels = c.ZeroShot(picked);
        var results = indices.Select(
            (ix, r) =>
                new
                {
                    image = Item(c, (int)ix, Math.Round(scores[r], 4)),
                    labels = labels[r].Select(l => new { name = l.Name, p = Math.Round(l.Probability, 3) }),
                }
        );
        var queryLabels = c.ZeroShot(query).FirstOrDefault() ?? [];
        return Results.Json(
            new
            {
                tookMs = Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 1),
                count = c.Features.shape[0],
                results,
                queryLabels = excluding is null
                    ? null
                    : queryLabels.Select(l => new { name = l.Name, p = Math.Round(l.Probability, 3) }),
            }
        );
    }

    IResult SearchText(Collection c, string? q, int k)
    {
        if (string.IsNullOrWhiteSpace(q))
            return Results.BadRequest(new { error = "type a query (?q=...)" });
        long started = Stopwatch.GetTimestamp();
        Tensor query;
        lock (_modelGate)
            query = c.Embedder.EncodeTexts([q]);
        using (query)
            return Results_(c, query, k, started);
    }

    IResult SearchSimilar(Collection c, int image, int k)
    {
        if (image < 0 || image >= c.Images.Count)
            return Results.BadRequest(new { error = $"no image {image}" });
        long started = Stopwatch.GetTimestamp();
        using var query = c.Features[image].unsqueeze(0);
        return Results_(c, query, k, started, excluding: "image");
    }

    async Task<IResult> SearchUpload(HttpContext context, int k)
    {
        if (_state.Collection is not { } c)
            return Results.Json(new { error = $"still loading: {_state.Stage}" }, statusCode: 503);
        if (context.Request.ContentLength > _options.MaxUploadBytes)
            return TooLarge();
        using var body = new MemoryStream();
        try
        {
            await context.Request.Body.CopyToAsync(body);
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException)
        {
            return TooLarge();
        }
        if (body.Length == 0)
            return Results.BadRequest(new { error = "the upload is empty: send the image file as the request body." });
        long started = Stopwatch.GetTimestamp();
        SkiaSharp.SKBitmap bitmap;
        try
        {
            bitmap = ImageDecoder.Decode(body.ToArray(), "upload");
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return Results.BadRequest(new { error = $"not an image: {e.Message}" });
        }
        Tensor query;
        using (bitmap)
            lock (_modelGate)
                query = c.Embedder.EncodeBitmap(bitmap);
        using (query)
            return Results_(c, query, k, started, excluding: "upload");
    }

    IResult TooLarge() =>
        Results.Json(
            new { error = $"the upload is over the {_options.MaxUploadBytes / (1 << 20)} MiB limit" },
            statusCode: 413
        );

    IResult PseudoLabels(Collection c, string sort, string order, int offset, int limit)
    {
        var table = c.PseudoLabels;
        Func<PseudoLabel, double> key = sort switch
        {
            "confidence" => r => r.Confidence,
            "entropy" => r => r.NormalisedEntropy,
            _ => throw new ArgumentException($"sort={sort}: use confidence or entropy."),
        };
        var sorted = order == "asc" ? table.Rows.OrderBy(key) : table.Rows.OrderByDescending(key);
        var labelled = table.Rows.Where(r => r.ClassRight != null).ToList();
        return Results.Json(
            new
            {
                count = table.Rows.Count,
                notPlanned = table.NotPlanned,
                paired = c.PairedIndices.Count,
                labelled = labelled.Count,
                right = labelled.Count(r => r.ClassRight == true),
                keywords = c.Keywords?.Keywords.Count,
                items = sorted
                    .Skip(Math.Max(0, offset))
                    .Take(Math.Clamp(limit, 1, 500))
                    .Select(r => new
                    {
                        image = Item(c, r.Image),
                        hiddenCaption = c.Images[r.Image].HiddenCaptions.FirstOrDefault(),
                        confidence = Math.Round(r.Confidence, 4),
                        entropy = Math.Round(r.Entropy, 4),
                        normalisedEntropy = Math.Round(r.NormalisedEntropy, 4),
                        right = r.ClassRight,
                        keywords = r.KeywordCandidates,
                        nearest = Item(c, r.Nearest),
                        top = r.Top.Select(t => new { weight = Math.Round(t.Weight, 4), image = Item(c, t.Image) }),
                    }),
            }
        );
    }

    IResult Suggest(Collection c, string mode, int limit, double diversity)
    {
        var captioned = _journal?.CaptionedImages() ?? [];
        int top = Math.Clamp(limit, 1, 200);
        object Row(int image, int nearest, double? score, double? uncertainty, double? novelty) =>
            new
            {
                image = Item(c, image),
                nearest = nearest < 0 ? null : Item(c, nearest),
                score,
                uncertainty,
                novelty,
            };
        List<object> rows;
        if (mode == "score")
            rows = c.Suggestions(captioned, top, diversity)
                .Select(s =>
                    Row(
                        s.Image,
                        s.Suggestion.NearestPaired,
                        Math.Round(s.Suggestion.Score, 4),
                        Math.Round(s.Suggestion.Uncertainty, 4),
                        Math.Round(s.Suggestion.Novelty, 4)
                    )
                )
                .ToList();
        else if (mode == "random")
        {
            var open = c.UnpairedIndices.Where(i => !captioned.Contains(c.Images[i].Path)).ToArray();
            new Random(0).Shuffle(open);
            var picked = open.Take(top).ToList();
            var nearest = c.NearestPaired(picked);
            rows = picked.Select((i, r) => Row(i, nearest[r], null, null, null)).ToList();
        }
        else
            throw new ArgumentException($"mode={mode}: use score or random.");
        return Results.Json(
            new
            {
                captionFile = _journal?.FilePath,
                captioned = captioned.Count,
                rows,
            }
        );
    }

    IResult SaveCaption(Collection c, CaptionRequest body)
    {
        if (_journal is null)
            return Results.BadRequest(
                new
                {
                    error = "no caption file to save to: start serve with --save-captions FILE.jsonl "
                        + "(or a .jsonl --captions).",
                }
            );
        if (body.Image < 0 || body.Image >= c.Images.Count)
            return Results.BadRequest(new { error = $"no image {body.Image}" });
        var captions = _journal.Save(c.Images[body.Image].Path, body.Caption ?? "");
        return Results.Json(
            new
            {
                saved = _journal.FilePath,
                image = c.Images[body.Image].Path,
                captions,
            }
        );
    }

    string? RunFolder => Directory.Exists(_options.Model) ? _options.Model : null;

    IResult Run()
    {
        if (RunFolder is not { } run)
            return Results.Json(
                new { error = $"{_options.Model} is a weights file, not a run folder: no curves or report." }
            );
        var metrics = Path.Combine(run, "metrics.jsonl");
        var report = Path.Combine(run, "report.json");
        var config = Path.Combine(run, "config.json");
        var events = File.Exists(metrics)
            ? File.ReadLines(metrics).Count(l => l.Contains("\"kind\":\"train\"", StringComparison.Ordinal))
            : 0;
        return Results.Json(
            new
            {
                run = Path.GetFullPath(run),
                hasCurves = events > 0,
                trainEvents = events,
                config = File.Exists(config)
                    ? JsonDocument.Parse(File.ReadAllText(config)).RootElement
                    : (JsonElement?)null,
                report = File.Exists(report)
                    ? JsonDocument.Parse(File.ReadAllText(report)).RootElement
                    : (JsonElement?)null,
            }
        );
    }

    IResult Curves()
    {
        var metrics = RunFolder is { } run ? Path.Combine(run, "metrics.jsonl") : null;
        if (metrics is null || !File.Exists(metrics))
            return Results.NotFound(new { error = "no metrics.jsonl in the run folder" });
        try
        {
            return Results.Bytes(Charts.Plots.TrainingCurvesPng(metrics), "image/png");
        }
        catch (InvalidDataException e)
        {
            return Results.NotFound(new { error = e.Message });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            await _loading;
        }
        catch (Exception) { }
        _state.Collection?.Dispose();
        _journalLock?.Dispose();
    }
}

/// <summary>A host lifetime that leaves the process's signals alone.</summary>
sealed class CallerLifetime : Microsoft.Extensions.Hosting.IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
