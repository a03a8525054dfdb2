using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using SemiClip.Data;
using SemiClip.Evaluation;
using SemiClip.Model;
using SemiClip.Serve;
using SemiClip.Tests.Support;
using static TorchSharp.torch;

namespace SemiClip.Tests.Serve;

/// <summary>The JSON the pages read, checked against values computed here independently.</summary>
[Collection("serve")]
public class ServeApiTests(ServeFixture f)
{
    async Task<JsonElement> Get(string url)
    {
        var response = await f.Http.GetAsync(url);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    [Fact]
    public async Task StatusCountsTheRunsSplitAndTheExtraImages()
    {
        var s = await Get("/api/status");
        Assert.True(s.GetProperty("ready").GetBoolean());
        Assert.Equal(4, s.GetProperty("paired").GetInt32()); // 10% of the run's 40 training images
        Assert.Equal(36 + 20, s.GetProperty("unpaired").GetInt32()); // the other 36, and data/test's 20
        Assert.Equal(10, s.GetProperty("classes").GetInt32());
    }

    [Fact]
    public async Task TextSearchScoresAreTheCosinesAnIndependentEncodingGives()
    {
        var a = await Get("/api/search?q=" + Uri.EscapeDataString("a farmland with a red barn") + "&k=5");
        var results = a.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(5, results.Count);
        var scores = results.Select(r => r.GetProperty("image").GetProperty("score").GetDouble()).ToList();
        Assert.Equal(scores.OrderByDescending(x => x), scores);
        using var bundle = ModelBundle.Load(f.Run);
        var embedder = new Embedder(bundle.Model, bundle.Tokenizer, CPU, workers: 1);
        using var text = embedder.EncodeTexts(["a farmland with a red barn"]);
        var top = results[0].GetProperty("image");
        using var image = embedder.EncodeImages([top.GetProperty("path").GetString()!]);
        Assert.Equal(image.matmul(text.t()).item<float>(), top.GetProperty("score").GetDouble(), 3);
        Assert.Equal(3, results[0].GetProperty("labels").GetArrayLength());
    }

    [Fact]
    public async Task UploadsAreSearchedCappedAndChecked()
    {
        var png = await File.ReadAllBytesAsync(
            Directory.GetFiles(f.Dir.File("data/test"), "*.png", SearchOption.AllDirectories)[0]
        );
        var ok = await f.Http.PostAsync("/api/search/image?k=3", new ByteArrayContent(png));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var a = JsonDocument.Parse(await ok.Content.ReadAsStringAsync()).RootElement;
        // The uploaded image is one of the collection's: it finds itself first, at cosine 1.
        Assert.Equal(1.0, a.GetProperty("results")[0].GetProperty("image").GetProperty("score").GetDouble(), 3);
        var garbage = await f.Http.PostAsync(
            "/api/search/image",
            new ByteArrayContent(Encoding.UTF8.GetBytes("not an image"))
        );
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        // Refused on its Content-Length, before the body is read: the client waits for "100 Continue" and gets 413.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/search/image")
        {
            Content = new ByteArrayContent(new byte[(8 << 20) + 1]),
        };
        request.Headers.ExpectContinue = true;
        var huge = await f.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
    }

    [Fact]
    public async Task PseudoLabelRowsAreDistributionsWithTheirOwnEntropyAndSortByConfidence()
    {
        var a = await Get("/api/pseudo?sort=confidence&order=desc&limit=500");
        Assert.Equal(56, a.GetProperty("count").GetInt32());
        var items = a.GetProperty("items").EnumerateArray().ToList();
        var confidences = items.Select(i => i.GetProperty("confidence").GetDouble()).ToList();
        Assert.Equal(confidences.OrderByDescending(x => x), confidences);
        var keywords = File.ReadAllLines(f.Dir.File("data/keywords.txt")).Select(k => k.Trim()).ToHashSet();
        foreach (var item in items)
        {
            // With 4 captioned images the top 5 is the whole row: it sums to 1 and its entropy is −Σ w ln w.
            var w = item.GetProperty("top").EnumerateArray().Select(t => t.GetProperty("weight").GetDouble()).ToList();
            Assert.Equal(4, w.Count);
            // Weights come rounded to 4 decimals: compare within what that rounding allows.
            Assert.InRange(w.Sum(), 1 - 5e-4, 1 + 5e-4);
            Assert.InRange(
                -w.Where(x => x > 0).Sum(x => x * Math.Log(x)) - item.GetProperty("entropy").GetDouble(),
                -3e-3,
                3e-3
            );
            Assert.InRange(
                item.GetProperty("entropy").GetDouble() / Math.Log(4)
                    - item.GetProperty("normalisedEntropy").GetDouble(),
                -1e-3,
                1e-3
            );
            Assert.All(item.GetProperty("keywords").EnumerateArray(), k => Assert.Contains(k.GetString()!, keywords));
            var own = item.GetProperty("image").GetProperty("label").GetString();
            var chosen = item.GetProperty("top")[0].GetProperty("image").GetProperty("label").GetString();
            Assert.Equal(own == chosen, item.GetProperty("right").GetBoolean());
        }
        Assert.Equal(items.Count(i => i.GetProperty("right").GetBoolean()), a.GetProperty("right").GetInt32());
        var byEntropy = (await Get("/api/pseudo?sort=entropy&order=asc&limit=500"))
            .GetProperty("items")
            .EnumerateArray()
            .Select(i => i.GetProperty("normalisedEntropy").GetDouble())
            .ToList();
        Assert.Equal(byEntropy.Order(), byEntropy);
    }

    [Fact]
    public async Task ASavedCaptionIsReadableByTrainAndLeavesTheSuggestions()
    {
        var before = (await Get("/api/suggest?mode=score&limit=200")).GetProperty("rows").EnumerateArray().ToList();
        Assert.All(before, r => Assert.False(r.GetProperty("image").GetProperty("paired").GetBoolean()));
        var first = before[0].GetProperty("image");
        Assert.False(before[0].GetProperty("nearest").GetProperty("caption").GetString().IsNullOrEmptyString());
        var body = new StringContent(
            JsonSerializer.Serialize(new { image = first.GetProperty("index").GetInt32(), caption = "a test caption" }),
            Encoding.UTF8,
            "application/json"
        );
        var saved = await f.Http.PostAsync("/api/captions", body);
        Assert.True(saved.IsSuccessStatusCode, await saved.Content.ReadAsStringAsync());
        var samples = CaptionDatasetReader.Read(
            f.SaveFile,
            new CaptionDatasetOptions(),
            new BadInputReport(BadInputPolicy.FailFast)
        );
        var sample = samples.Single(s => Path.GetFullPath(s.ImagePath) == first.GetProperty("path").GetString());
        Assert.Contains("a test caption", sample.Captions);
        var after = (await Get("/api/suggest?mode=score&limit=200"))
            .GetProperty("rows")
            .EnumerateArray()
            .Select(r => r.GetProperty("image").GetProperty("index").GetInt32())
            .ToList();
        Assert.DoesNotContain(first.GetProperty("index").GetInt32(), after);
        var random = (await Get("/api/suggest?mode=random&limit=10")).GetProperty("rows");
        Assert.Equal(10, random.GetArrayLength());
        var empty = await f.Http.PostAsync(
            "/api/captions",
            new StringContent("{\"image\":0,\"caption\":\" \"}", Encoding.UTF8, "application/json")
        );
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
    }

    [Fact]
    public async Task TheRunPageHasTheRunsConfigAndCurves()
    {
        var a = await Get("/api/run");
        Assert.Equal("sclip", a.GetProperty("config").GetProperty("method").GetString());
        Assert.True(a.GetProperty("hasCurves").GetBoolean());
        var png = await f.Http.GetByteArrayAsync("/api/run/curves.png");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png.Take(4).ToArray());
    }

    [Fact]
    public async Task ImagesAreServedAndRequestsOutOfTheFoldersAreRefusedOnTheWire()
    {
        var item = (await Get("/api/search?q=river&k=1")).GetProperty("results")[0].GetProperty("image");
        var url = item.GetProperty("url").GetString()!;
        var bytes = await f.Http.GetByteArrayAsync(url);
        Assert.Equal(await File.ReadAllBytesAsync(item.GetProperty("path").GetString()!), bytes);
        File.WriteAllText(f.Dir.File("secret.png"), "SECRET");
        // Raw requests: an HTTP client would normalise the dots before they reach the server.
        foreach (
            var target in new[]
            {
                "/img/0/../secret.png",
                "/img/0/../../secret.png",
                "/img/0/%2e%2e/secret.png",
                "/img/0/..%2Fsecret.png",
                "/img/0/%2E%2E%2F%2E%2E%2Fsecret.png",
                $"/img/0/{Uri.EscapeDataString(f.Dir.File("secret.png"))}",
                "/img/0//etc/passwd",
                "/img/0/..%5Csecret.png",
                "/img/9/x.png",
            }
        )
        {
            var (status, text) = await Raw(target);
            Assert.True(status is 400 or 404, $"{target}: {status}");
            Assert.DoesNotContain("SECRET", text);
        }
    }

    async Task<(int Status, string Text)> Raw(string target)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(f.Server.Address.Host, f.Server.Address.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(
            Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        );
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync();
        return (int.Parse(text.Split(' ')[1]), text);
    }

    [Fact]
    public async Task ASecondServerSavingToTheSameCaptionFileIsRefused()
    {
        var e = await Assert.ThrowsAsync<SemiClip.IO.OutputBusyException>(() => ServeApp.StartAsync(f.Options()));
        Assert.Equal(Path.GetFullPath(f.SaveFile), e.Output);
        Assert.Equal(Environment.ProcessId, e.Holder!.Pid);
        // The refusal took nothing from the first server: it still saves.
        Assert.Null(f.Server.State.Error);
    }

    [Fact]
    public async Task APortInUseIsNamed()
    {
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            int port = ((IPEndPoint)taken.LocalEndpoint).Port;
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
                ServeApp.StartAsync(f.Options(f.Dir.File("second.jsonl")) with { Port = port })
            );
            Assert.Contains($"--port {port}", e.Message);
            Assert.Contains("in use", e.Message);
        }
        finally
        {
            taken.Stop();
        }
    }
}

static class StringChecks
{
    public static bool IsNullOrEmptyString(this string? s) => string.IsNullOrEmpty(s);
}

/// <summary>An <c>embed --images</c> index stands in for embedding its images again, and only the model that made it
/// may use it.</summary>
[Collection("serve")]
public class ServeIndexTests(ServeFixture f)
{
    [Fact]
    public async Task AnIndexOfTheSameModelGivesTheSameSearchAndAnotherModelsIsRefused()
    {
        var index = f.Dir.File("test-index.safetensors");
        var (code, output) = CliProcess.Run(
            "embed",
            "--model",
            f.Run,
            "--images",
            f.Dir.File("data/test"),
            "--out",
            index,
            "--device",
            "cpu"
        );
        Assert.True(code == 0, output);
        var options = f.Options(f.Dir.File("indexed.jsonl")) with { Index = index };
        await using var indexed = await ServeApp.StartAsync(options);
        await indexed.Loaded;
        Assert.Null(indexed.State.Error);
        using var http = new HttpClient { BaseAddress = indexed.Address };
        const string query = "/api/search?k=10&q=a%20harbour%20with%20boats";
        var fromIndex = JsonDocument.Parse(await http.GetStringAsync(query)).RootElement.GetProperty("results");
        var embedded = JsonDocument.Parse(await f.Http.GetStringAsync(query)).RootElement.GetProperty("results");
        for (int i = 0; i < 10; i++)
            Assert.Equal(
                embedded[i].GetProperty("image").GetProperty("score").GetDouble(),
                fromIndex[i].GetProperty("image").GetProperty("score").GetDouble(),
                3
            );

        using var other = new ClipModel(TinySetup.Model(indexed.State.Collection!.Bundle.Tokenizer.VocabSize));
        var e = Assert.Throws<ArgumentException>(() => ImageIndexFile.Read(index, ModelFingerprint.Of(other)));
        Assert.Contains("another model", e.Message);
    }
}
