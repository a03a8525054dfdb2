using System.Buffers.Binary;
using System.IO.Compression;
using SemiClip.Data.Images;
using SemiClip.Tests.Support;

namespace SemiClip.Tests.Fuzz;

/// <summary>Generated hostile images (a huge size claimed by a small file, zero size, cut short, wrong magic, 16-bit,
/// animated, CMYK, empty) through the decoder, both pre-flight depths, <c>data inspect</c>, <c>train</c>'s pre-flight,
/// <c>embed</c> and <c>serve</c>: each is decoded, or refused with a message naming the file, never the "this is a
/// bug" path.</summary>
public class HostileImageTests
{
    static readonly uint[] CrcTable = Enumerable
        .Range(0, 256)
        .Select(n =>
        {
            uint c = (uint)n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            return c;
        })
        .ToArray();

    static uint Crc(ReadOnlySpan<byte> bytes)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in bytes)
            c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc(typed));
        s.Write(word);
    }

    /// <summary>A PNG written by hand, so its header can claim what no encoder would write: <paramref name="rows"/>
    /// rows of real pixel data are stored whatever <paramref name="height"/> says.</summary>
    static byte[] Png(int width, int height, int bitDepth = 8, int rows = 1)
    {
        using var s = new MemoryStream();
        s.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = (byte)bitDepth;
        ihdr[9] = 2; // RGB
        Chunk(s, "IHDR", ihdr);
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Fastest, leaveOpen: true))
        {
            var row = new byte[1 + Math.Min(width, 4096) * 3 * bitDepth / 8];
            for (int i = 1; i < row.Length; i++)
                row[i] = (byte)(i * 7);
            for (int r = 0; r < rows; r++)
                z.Write(row);
        }
        Chunk(s, "IDAT", raw.ToArray());
        Chunk(s, "IEND", []);
        return s.ToArray();
    }

    static byte[] AnimatedGif(string dir)
    {
        var one = File.ReadAllBytes(TestImages.Gif(Path.Combine(dir, "one.gif")));
        var frame = one[19..^1]; // image descriptor + data, before the trailer
        return [.. one[..19], .. frame, .. frame, 0x3B];
    }

    /// <summary>A baseline JPEG written by hand with four components (CMYK, as Photoshop writes print files, with
    /// Adobe's APP14 marker saying "no colour transform"): one 8×8 block per component, every coefficient zero,
    /// coded with one-symbol Huffman tables (DC category 0 and end-of-block are each the 1-bit code 0). No encoder on
    /// this machine writes CMYK.</summary>
    static byte[] CmykJpeg()
    {
        using var s = new MemoryStream();
        void Segment(byte marker, byte[] body)
        {
            s.Write([0xFF, marker, (byte)((body.Length + 2) >> 8), (byte)(body.Length + 2)]);
            s.Write(body);
        }
        s.Write([0xFF, 0xD8]); // SOI
        Segment(0xEE, [.. "Adobe"u8.ToArray(), 0, 100, 0, 0, 0, 0, 0]); // APP14, transform 0: plain CMYK
        Segment(0xDB, [0, .. Enumerable.Repeat((byte)1, 64)]); // DQT 0: all ones
        byte[] components = [1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0];
        Segment(0xC0, [8, 0, 8, 0, 8, 4, .. components]); // SOF0: 8-bit, 8×8, 4 components
        byte[] oneSymbol = [1, .. new byte[15], 0]; // one code of length 1, for symbol 0
        Segment(0xC4, [0x00, .. oneSymbol, 0x10, .. oneSymbol]); // DHT: DC table 0, AC table 0
        Segment(0xDA, [4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0]); // SOS: all four components
        s.Write([0x00]); // 4 blocks × (DC "0" + EOB "0") = 8 bits
        s.Write([0xFF, 0xD9]); // EOI
        return s.ToArray();
    }

    /// <summary>Each hostile file and whether a full decode can read it.</summary>
    static List<(string Name, byte[] Bytes, bool Decodable)> Hostile(string dir)
    {
        var good = Png(8, 8, rows: 8);
        return
        [
            ("good.png", good, true),
            ("huge.png", Png(50_000, 50_000), false),
            ("wide.png", Png(1_000_000, 200), false),
            ("zero.png", Png(0, 8), false),
            ("sixteen-bit.png", Png(8, 8, bitDepth: 16, rows: 8), true),
            ("truncated.png", good[..(good.Length / 2)], false),
            ("wrong-magic.png", [.. "GIF87a"u8.ToArray(), .. good[6..]], false),
            ("text.jpg", "not an image at all"u8.ToArray(), false),
            ("empty.png", [], false),
            ("animated.gif", AnimatedGif(dir), true),
            ("cmyk.jpg", CmykJpeg(), true),
        ];
    }

    [Fact]
    public void TheDecoderAndBothPreflightDepthsNameEveryHostileFile()
    {
        using var dir = new TempDir();
        foreach (var (name, bytes, decodable) in Hostile(dir.Path))
        {
            var path = dir.File(name);
            File.WriteAllBytes(path, bytes);
            var full = ImageCheck.Problem(path, ImageCheckDepth.Full);
            Assert.True(decodable == (full is null), $"{name}: {full ?? "decoded"}");
            if (decodable)
            {
                using var bitmap = ImageDecoder.Decode(path);
                Assert.True(bitmap.Width > 0 && bitmap.Height > 0);
            }
            else
            {
                var e = Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(path).Dispose());
                Assert.StartsWith(path + ": ", e.Message);
            }
            // The header check may pass a file only a full decode finds broken, never refuse a readable one.
            var header = ImageCheck.Problem(path, ImageCheckDepth.Headers);
            Assert.True(header is null || !decodable, $"{name}: {header}");
        }
        // A size over the budget is said from the header alone, with the size.
        Assert.Contains("50000×50000", ImageCheck.Problem(dir.File("huge.png"), ImageCheckDepth.Headers));
        Assert.Contains("megapixel budget", ImageCheck.Problem(dir.File("wide.png"), ImageCheckDepth.Headers));
    }

    [Fact]
    public void DataInspectAndEmbedNameThemAndNeverSayBug()
    {
        using var dir = new TempDir();
        var common = TinySetup.Write(dir);
        var images = Directory.CreateDirectory(dir.File("hostile")).FullName;
        foreach (var (name, bytes, _) in Hostile(dir.Path))
            File.WriteAllBytes(Path.Combine(images, name), bytes);
        File.Delete(Path.Combine(dir.Path, "one.gif"));

        foreach (var depth in new[] { "headers", "full" })
        {
            var (inspected, said) = CliProcess.Run("data", "inspect", images, "--check-images", depth);
            Assert.True(inspected == 1, said);
            Assert.DoesNotContain("this is a bug", said);
            Assert.Contains("huge.png: image is 50000×50000 pixels", said);
            Assert.Contains("text.jpg", said);
        }

        CliProcess.TrainTiny(dir, common);
        int code;
        string output;

        (code, output) = CliProcess.Run(
            "embed",
            "--model",
            dir.File("runs/m"),
            "--images",
            images,
            "--out",
            dir.File("index.safetensors"),
            "--skip-bad"
        );
        Assert.True(code == 0, output);
        Assert.DoesNotContain("this is a bug", output);
        Assert.Contains("huge.png", output);
        Assert.Contains("truncated.png", output);
        var ids = File.ReadAllLines(dir.File("index.jsonl"));
        Assert.Equal(4, ids.Length); // good, sixteen-bit, animated, CMYK

        (code, output) = CliProcess.Run(
            "embed",
            "--model",
            dir.File("runs/m"),
            "--images",
            images,
            "--out",
            dir.File("refused.safetensors")
        );
        Assert.NotEqual(0, code);
        Assert.DoesNotContain("this is a bug", output);
        Assert.False(File.Exists(dir.File("refused.safetensors")));

        // Training on them: the pre-flight names every file a header check can see is bad (huge ones by their size),
        // and the full check the cut-off one too; nothing is trained.
        File.WriteAllLines(
            dir.File("hostile.jsonl"),
            Hostile(dir.Path).Select(h => $"{{\"image\": \"hostile/{h.Name}\", \"caption\": \"a field\"}}")
        );
        foreach (var depth in new[] { "headers", "full" })
        {
            (code, output) = CliProcess.Run(
                [
                    "train",
                    "--run-name",
                    "hostile-" + depth,
                    "--data",
                    dir.File("hostile.jsonl"),
                    "--check-images",
                    depth,
                    .. common.Where(o => !o.StartsWith("train_data=")).SelectMany(o => new[] { "--set", o }),
                ]
            );
            Assert.NotEqual(0, code);
            Assert.DoesNotContain("this is a bug", output);
            Assert.Contains("huge.png: image is 50000×50000 pixels", output);
            foreach (var name in new[] { "wide.png", "zero.png", "wrong-magic.png", "text.jpg", "empty.png" })
                Assert.Contains(name, output);
            Assert.Equal(depth == "full", output.Contains("truncated.png"));
            Assert.DoesNotContain("cmyk.jpg", output);
            Assert.False(Directory.Exists(dir.File("runs/hostile-" + depth)));
        }

        // Serving them: the collection fails to load, naming a file, and the server exits instead of serving errors.
        (code, output) = CliProcess.Run("serve", "--model", dir.File("runs/m"), "--images", images, "--port", "0");
        Assert.NotEqual(0, code);
        Assert.Contains("loading failed", output);
        Assert.Contains(images, output);
        Assert.DoesNotContain("this is a bug", output);
    }

    [Fact]
    public void DataInspectSaysNotFoundAndHintsImageRootWhenImagesAreMissing()
    {
        using var dir = new TempDir();
        var (code, output) = CliProcess.Run("data", "inspect", dir.File("nonexistent.json"));
        Assert.NotEqual(0, code);
        Assert.Contains("nonexistent.json: not found", output);

        File.WriteAllText(dir.File("captions.jsonl"), "{\"image\": \"elsewhere/a.png\", \"caption\": \"a field\"}\n");
        (code, output) = CliProcess.Run("data", "inspect", dir.File("captions.jsonl"));
        Assert.Equal(1, code);
        Assert.Contains("a.png", output);
        Assert.Contains("--image-root", output);
    }
}
