using BitMiracle.LibTiff.Classic;
using SkiaSharp;

namespace SemiClip.Tests.Support;

/// <summary>Writes small real image files in every format the loaders read.</summary>
public static class TestImages
{
    public static SKBitmap Halves(int w, int h, SKColor left, SKColor right)
    {
        var b = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                b.SetPixel(x, y, x < w / 2 ? left : right);
        return b;
    }

    public static string Png(string path, int w = 8, int h = 8, SKColor? colour = null) =>
        Encode(path, Halves(w, h, colour ?? SKColors.Red, colour ?? SKColors.Red), SKEncodedImageFormat.Png);

    public static string Encode(string path, SKBitmap bitmap, SKEncodedImageFormat format, int quality = 95)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (bitmap)
        using (var data = bitmap.Encode(format, quality))
            File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    /// <summary>24-bit bottom-up BMP, written from the format description.</summary>
    public static string Bmp(string path, int w, int h, SKColor c)
    {
        int row = (w * 3 + 3) & ~3,
            size = 54 + row * h;
        var b = new byte[size];
        b[0] = (byte)'B';
        b[1] = (byte)'M';
        BitConverter.GetBytes(size).CopyTo(b, 2);
        BitConverter.GetBytes(54).CopyTo(b, 10);
        BitConverter.GetBytes(40).CopyTo(b, 14);
        BitConverter.GetBytes(w).CopyTo(b, 18);
        BitConverter.GetBytes(h).CopyTo(b, 22);
        BitConverter.GetBytes((short)1).CopyTo(b, 26);
        BitConverter.GetBytes((short)24).CopyTo(b, 28);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int o = 54 + y * row + x * 3;
                b[o] = c.Blue;
                b[o + 1] = c.Green;
                b[o + 2] = c.Red;
            }
        File.WriteAllBytes(path, b);
        return path;
    }

    /// <summary>The classic 1×1 GIF89a whose only pixel is red.</summary>
    public static string Gif(string path)
    {
        File.WriteAllBytes(
            path,
            new byte[]
            {
                0x47,
                0x49,
                0x46,
                0x38,
                0x39,
                0x61,
                0x01,
                0x00,
                0x01,
                0x00,
                0x80,
                0x00,
                0x00,
                0xFF,
                0x00,
                0x00,
                0x00,
                0x00,
                0x00,
                0x2C,
                0x00,
                0x00,
                0x00,
                0x00,
                0x01,
                0x00,
                0x01,
                0x00,
                0x00,
                0x02,
                0x02,
                0x44,
                0x01,
                0x00,
                0x3B,
            }
        );
        return path;
    }

    /// <summary>8-bit TIFF with 1 (grey), 3 (RGB) or 4 (RGBA) samples per pixel, every pixel the same.</summary>
    public static string Tiff(string path, int w, int h, byte[] pixel)
    {
        using var t = BitMiracle.LibTiff.Classic.Tiff.Open(path, "w");
        t.SetField(TiffTag.IMAGEWIDTH, w);
        t.SetField(TiffTag.IMAGELENGTH, h);
        t.SetField(TiffTag.SAMPLESPERPIXEL, pixel.Length);
        t.SetField(TiffTag.BITSPERSAMPLE, 8);
        t.SetField(TiffTag.PHOTOMETRIC, pixel.Length == 1 ? Photometric.MINISBLACK : Photometric.RGB);
        t.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
        t.SetField(TiffTag.ROWSPERSTRIP, h);
        if (pixel.Length == 4)
            t.SetField(TiffTag.EXTRASAMPLES, 1, new short[] { (short)ExtraSample.UNASSALPHA });
        var row = new byte[w * pixel.Length];
        for (int x = 0; x < w; x++)
            pixel.CopyTo(row, x * pixel.Length);
        for (int y = 0; y < h; y++)
            t.WriteScanline(row, y);
        return path;
    }

    /// <summary>A JPEG with an EXIF APP1 segment carrying the given orientation tag.</summary>
    public static string JpegWithOrientation(string path, SKBitmap bitmap, ushort orientation)
    {
        Encode(path, bitmap, SKEncodedImageFormat.Jpeg, 100);
        var jpeg = File.ReadAllBytes(path);
        var tiff = new List<byte>
        {
            (byte)'I',
            (byte)'I',
            42,
            0,
            8,
            0,
            0,
            0,
            1,
            0,
            0x12,
            0x01,
            3,
            0,
            1,
            0,
            0,
            0,
            (byte)orientation,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        };
        var payload = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        int len = payload.Length + 2;
        var app1 = new byte[] { 0xFF, 0xE1, (byte)(len >> 8), (byte)len }.Concat(payload);
        File.WriteAllBytes(path, jpeg.Take(2).Concat(app1).Concat(jpeg.Skip(2)).ToArray());
        return path;
    }
}
