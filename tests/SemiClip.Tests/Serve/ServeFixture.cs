using SemiClip.Runs;
using SemiClip.Serve;
using SemiClip.Tests.Support;
using SemiClip.Training;

namespace SemiClip.Tests.Serve;

/// <summary>One server for the serve tests: a tiny S-CLIP run (3 steps on 40 synthetic aerial images, 10% captioned)
/// served from its run folder, plus the 20 test images as more unpaired images, saving captions to new.jsonl.</summary>
public sealed class ServeFixture : IAsyncLifetime
{
    public TempDir Dir { get; } = new();
    public ServeApp Server { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public string Run => Dir.File("runs/m");
    public string SaveFile => Dir.File("new.jsonl");

    public async Task InitializeAsync()
    {
        var common = TinySetup.Write(Dir);
        var config = TrainConfig.Load(
            null,
            common.Concat(["run_name=\"m\"", "steps=3", "method=\"sclip\"", "label_ratio=0.1", "seed=1"])
        );
        using (var session = new TrainingSession(config, resume: false))
            session.Train();
        Server = await ServeApp.StartAsync(Options());
        Http = new HttpClient { BaseAddress = Server.Address };
        await Server.Loaded;
        Assert.True(Server.State.Error is null, Server.State.Error);
    }

    /// <summary>The fixture server's options; a second server started beside it saves its captions to
    /// <paramref name="saveFile"/>, since the first one holds <see cref="SaveFile"/> (one writer per file).</summary>
    public ServeOptions Options(string? saveFile = null) =>
        new()
        {
            Model = Run,
            Images = Dir.File("data/test"),
            SaveCaptions = saveFile ?? SaveFile,
            Port = 0,
            Device = "cpu",
            Workers = 1,
        };

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Dir.Dispose();
    }
}

/// <summary>Run on their own, after the parallel tests: while headless Chromium runs beside them, the CLI processes
/// that the signal tests (NothingLostTests) start did not act on SIGINT in full-suite runs (they pass alone and beside
/// the other serve tests); the cause is not understood yet.</summary>
[CollectionDefinition("serve", DisableParallelization = true)]
public sealed class ServeCollection : ICollectionFixture<ServeFixture>;
