using BitMiracle.LibTiff.Classic;
using SkiaSharp;

namespace SemiClip.Data.Images;

/// <summary>Decodes JPEG, PNG, BMP, WebP, GIF (first frame) with SkiaSharp, honouring the EXIF
/// orientation, and TIFF with BitMiracle.LibTiff.NET (fully managed, so no second native library is
/// shipped, and it reads the 8-bit RGB/RGBA/grey TIFFs remote-sensing sets use). Returns RGBA pixels.</summary>
public static class ImageDecoder
{
    /// <summary>The most pixels an image may have. Decoding holds 4 bytes a pixel, so a small file that claims a huge
    /// size (a 2 MB PNG of 50000×50000 is 10 GB decoded) is refused from its header, before anything is allocated.
    /// The budget is about PIL's own decompression-bomb limit, far above any photograph or remote-sensing
    /// tile.</summary>
    public const long MaxPixels = 150_000_000;

    /// <summary>Refuses dimensions over <see cref="MaxPixels"/> or not positive, naming the file and its
    /// size.</summary>
    public static void CheckSize(string path, long width, long height)
    {
        if (width <= 0 || height <= 0)
            throw new InvalidDataException($"{path}: image has no pixels ({width}×{height}).");
        if (width * height > MaxPixels)
            throw new InvalidDataException(
                $"{path}: image is {width}×{height} pixels ({width * height / 1e6:0.#} megapixels), over the "
                    + $"{MaxPixels / 1e6:0} megapixel budget; resize it or leave it out (skip_bad / --skip-bad)."
            );
    }

    public static SKBitmap Decode(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: image file not found.", path);
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <summary>Decodes an image held in memory (a webdataset member); <paramref name="path"/> names it in
    /// errors.</summary>
    public static SKBitmap Decode(byte[] bytes, string path)
    {
        if (
            bytes.Length >= 4
            && (
                bytes[0] == 'I' && bytes[1] == 'I' && bytes[2] == 42 && bytes[3] == 0
                || bytes[0] == 'M' && bytes[1] == 'M' && bytes[2] == 0 && bytes[3] == 42
            )
        )
            return DecodeTiff(bytes, path);
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new InvalidDataException($"{path}: not a decodable image (unknown or corrupt format).");
        CheckSize(path, codec.Info.Width, codec.Info.Height);
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            throw new InvalidDataException(
                result is SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput
                    ? $"{path}: image is truncated or corrupt ({result})."
                    : $"{path}: image could not be decoded ({result})."
            );
        }
        return ApplyOrientation(bitmap, codec.EncodedOrigin);
    }

    static SKBitmap ApplyOrientation(SKBitmap bitmap, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft or SKEncodedOrigin.Default)
            return bitmap;
        bool swap =
            origin
            is SKEncodedOrigin.LeftTop
                or SKEncodedOrigin.RightTop
                or SKEncodedOrigin.RightBottom
                or SKEncodedOrigin.LeftBottom;
        int w = swap ? bitmap.Height : bitmap.Width,
            h = swap ? bitmap.Width : bitmap.Height;
        var rotated = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(rotated))
        {
            canvas.SetMatrix(OriginMatrix(origin, bitmap.Width, bitmap.Height));
            canvas.DrawBitmap(bitmap, 0, 0);
        }
        bitmap.Dispose();
        return rotated;
    }

    // Maps the stored image onto the upright canvas for each EXIF orientation (1–8).
    static SKMatrix OriginMatrix(SKEncodedOrigin origin, int w, int h) =>
        origin switch
        {
            SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),
            SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1),
            SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),
            SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
            SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),
            SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1),
            SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),
            _ => SKMatrix.Identity,
        };

    static SKBitmap DecodeTiff(byte[] bytes, string path)
    {
        Tiff.SetErrorHandler(new SilentTiffErrors());
        using var tiff = Tiff.ClientOpen(path, "r", new MemoryStream(bytes, writable: false), new TiffStream())
            ?? throw new InvalidDataException($"{path}: not a readable TIFF file.");
        int w = tiff.GetField(TiffTag.IMAGEWIDTH)?[0].ToInt()
            ?? throw new InvalidDataException($"{path}: TIFF without IMAGEWIDTH.");
        int h = tiff.GetField(TiffTag.IMAGELENGTH)?[0].ToInt()
            ?? throw new InvalidDataException($"{path}: TIFF without IMAGELENGTH.");
        CheckSize(path, w, h);
        var raster = new int[w * h];
        if (!tiff.ReadRGBAImageOriented(w, h, raster, Orientation.TOPLEFT))
            throw new InvalidDataException(
                $"{path}: TIFF pixel data could not be read (truncated or unsupported layout)."
            );
        var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        unsafe
        {
            // LibTiff packs ABGR in an int, i.e. bytes R, G, B, A in memory order on little-endian: RGBA8888.
            var dst = (int*)bitmap.GetPixels();
            for (int i = 0; i < raster.Length; i++)
                dst[i] = raster[i];
        }
        return bitmap;
    }

    sealed class SilentTiffErrors : TiffErrorHandler
    {
        public override void WarningHandler(Tiff tif, string method, string format, params object[] args) { }

        public override void WarningHandlerExt(
            Tiff tif,
            object clientData,
            string method,
            string format,
            params object[] args
        )
        { }
    }
}
