using System.Text;
using SemiClip.IO;
using SemiClip.Tests.Support;
using static TorchSharp.torch;

namespace SemiClip.Tests.IO;

public class SafeTensorsTests
{
    [Fact]
    public void RoundTripKeepsEveryDTypeShapeAndMetadata()
    {
        using var dir = new TempDir();
        var path = dir.File("all.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = randn(3, 4),
            ["f16"] = randn(5).to(float16),
            ["bf16"] = randn(2, 2).to(bfloat16),
            ["i64"] = arange(7L),
            ["i32"] = tensor(new[] { -1, 2, 3 }),
            ["u8"] = tensor(new byte[] { 0, 255, 7 }),
            ["f64"] = rand(2, 1, 3, dtype: float64),
            ["scalar"] = tensor(3.5f),
            ["empty"] = zeros(0, 4),
        };
        SafeTensorsWriter.Write(
            path,
            tensors,
            new Dictionary<string, string> { ["format"] = "pt", ["activation"] = "quick_gelu" }
        );
        using var reader = new SafeTensorsReader(path);
        Assert.Equal("quick_gelu", reader.Metadata["activation"]);
        Assert.Equal(tensors.Keys.OrderBy(k => k), reader.Names.OrderBy(k => k));
        foreach (var (name, expected) in tensors)
        {
            using var actual = reader.Read(name);
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True(expected.equal(actual).all().item<bool>(), name);
        }
        Assert.False(File.Exists(path + ".tmp"));
        Assert.Empty(Directory.GetFiles(dir.Path, ".*.tmp"));
    }

    [Fact]
    public void ReadsAFileWrittenByHandInTheReferenceLayout()
    {
        // Built byte by byte from the format description, independent of SafeTensorsWriter.
        using var dir = new TempDir();
        var path = dir.File("hand.safetensors");
        var header =
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[8,16]}}";
        var h = Encoding.UTF8.GetBytes(header);
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((ulong)h.Length));
            f.Write(h);
            f.Write(BitConverter.GetBytes(1.5f));
            f.Write(BitConverter.GetBytes(-2f));
            f.Write(BitConverter.GetBytes(42L));
        }
        using var r = new SafeTensorsReader(path);
        Assert.Equal(new[] { 1.5f, -2f }, r.Read("a").data<float>().ToArray());
        Assert.Equal(42L, r.Read("b").item<long>());
    }

    static string WriteRaw(
        TempDir dir,
        string header,
        int dataBytes,
        int? declaredHeaderLength = null,
        string name = "bad.safetensors"
    )
    {
        var path = dir.File(name);
        var h = Encoding.UTF8.GetBytes(header);
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes((ulong)(declaredHeaderLength ?? h.Length)));
        f.Write(h);
        f.Write(new byte[dataBytes]);
        return path;
    }

    static SafeTensorsFormatException Reject(string path) =>
        Assert.Throws<SafeTensorsFormatException>(() => new SafeTensorsReader(path).Dispose());

    [Fact]
    public void RejectsTruncatedData()
    {
        using var dir = new TempDir();
        var e = Reject(WriteRaw(dir, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 10));
        Assert.Contains("bad.safetensors", e.Message);
        Assert.Contains("'w'", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void RejectsFileShorterThanTheLengthPrefix()
    {
        using var dir = new TempDir();
        var path = dir.File("tiny.safetensors");
        File.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        Assert.Contains("truncated", Reject(path).Message);
    }

    [Fact]
    public void RejectsHeaderLengthBeyondFile()
    {
        using var dir = new TempDir();
        var e = Reject(WriteRaw(dir, "{}", 0, declaredHeaderLength: 1000));
        Assert.Contains("header length 1000", e.Message);
    }

    [Fact]
    public void RejectsOverlappingOffsets()
    {
        using var dir = new TempDir();
        var e = Reject(
            WriteRaw(
                dir,
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                    + "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}",
                6
            )
        );
        Assert.Contains("'b'", e.Message);
        Assert.Contains("overlap", e.Message);
    }

    [Fact]
    public void RejectsGapBetweenTensors()
    {
        using var dir = new TempDir();
        var e = Reject(
            WriteRaw(
                dir,
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                    + "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]}}",
                6
            )
        );
        Assert.Contains("'b'", e.Message);
        Assert.Contains("gap", e.Message);
    }

    [Fact]
    public void RejectsTrailingBytesNotInTheHeader()
    {
        using var dir = new TempDir();
        Assert.Contains(
            "not described",
            Reject(WriteRaw(dir, "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 5)).Message
        );
    }

    [Fact]
    public void RejectsShapeThatDisagreesWithOffsets()
    {
        using var dir = new TempDir();
        var e = Reject(WriteRaw(dir, "{\"m\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20));
        Assert.Contains("'m'", e.Message);
        Assert.Contains("needs 24 bytes", e.Message);
    }

    [Fact]
    public void RejectsUnknownDType()
    {
        using var dir = new TempDir();
        var e = Reject(WriteRaw(dir, "{\"q\":{\"dtype\":\"F8_E9\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1));
        Assert.Contains("'q'", e.Message);
        Assert.Contains("unknown dtype 'F8_E9'", e.Message);
    }

    [Fact]
    public void RejectsDuplicateNames()
    {
        using var dir = new TempDir();
        var e = Reject(
            WriteRaw(
                dir,
                "{\"d\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                    + "\"d\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                2
            )
        );
        Assert.Contains("'d'", e.Message);
        Assert.Contains("twice", e.Message);
    }

    [Fact]
    public void RejectsInvalidJson()
    {
        using var dir = new TempDir();
        Assert.Contains("not valid JSON", Reject(WriteRaw(dir, "{\"a\": [", 0)).Message);
    }

    [Fact]
    public void RejectsInvalidUtf8()
    {
        using var dir = new TempDir();
        var path = dir.File("utf.safetensors");
        var h = new byte[] { (byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}' };
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((ulong)h.Length));
            f.Write(h);
        }
        Assert.Contains("UTF-8", Reject(path).Message);
    }

    [Fact]
    public void WriterReplacesAnExistingFileWhole()
    {
        using var dir = new TempDir();
        var path = dir.File("w.safetensors");
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["x"] = ones(100) });
        SafeTensorsWriter.Write(path, new Dictionary<string, Tensor> { ["y"] = ones(2) });
        using var r = new SafeTensorsReader(path);
        Assert.Equal(new[] { "y" }, r.Names);
    }
}
