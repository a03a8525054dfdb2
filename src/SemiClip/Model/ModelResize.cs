using TorchSharp;
using static TorchSharp.torch;

namespace SemiClip.Model;

/// <summary>A pretrained model at another input resolution or text context length, as open_clip resizes them: the
/// image position grid (ViT's, or a ResNet's attention-pool grid) is interpolated bicubically with the class position
/// kept as it is, and the text positions are interpolated linearly. Every other weight is copied unchanged.</summary>
public static class ModelResize
{
    public static ClipModel To(ClipModel model, int? imageSize, int? contextLength)
    {
        var c = model.Config;
        var resized = c with
        {
            Vision = c.Vision with { ImageSize = imageSize ?? c.Vision.ImageSize },
            Text = c.Text with { ContextLength = contextLength ?? c.Text.ContextLength },
        };
        if (resized == c)
            return model;
        resized.Validate("image_size / context_length");
        var target = new ClipModel(resized);
        using (no_grad())
        using (NewDisposeScope())
        {
            var source = model.state_dict();
            foreach (var (name, t) in target.state_dict())
            {
                var from = source[name];
                if (from.shape.SequenceEqual(t.shape))
                {
                    t.copy_(from);
                    continue;
                }
                var value = name switch
                {
                    "positional_embedding" => Linear(from, t.shape[0]),
                    "visual.positional_embedding" or "visual.attnpool.positional_embedding" => Grid(from, t.shape[0]),
                    _ => throw new InvalidOperationException(
                        $"{name}: shape [{string.Join(", ", from.shape)}] does not resize."
                    ),
                };
                t.copy_(value);
            }
        }
        model.Dispose();
        return target;
    }

    /// <summary>[1 + g², W] → [1 + g'², W]: the grid part bicubically (align_corners false), the class position
    /// kept.</summary>
    static Tensor Grid(Tensor positions, long rows)
    {
        long width = positions.shape[1];
        int from = (int)Math.Round(Math.Sqrt(positions.shape[0] - 1)),
            to = (int)Math.Round(Math.Sqrt(rows - 1));
        var grid = positions.narrow(0, 1, from * from).to(float32).reshape(1, from, from, width).permute(0, 3, 1, 2);
        var scaled = nn.functional.interpolate(
            grid,
            size: [to, to],
            mode: InterpolationMode.Bicubic,
            align_corners: false
        );
        return cat([positions.narrow(0, 0, 1).to(float32), scaled.permute(0, 2, 3, 1).reshape(to * to, width)], 0);
    }

    /// <summary>[C, W] → [C', W], linearly along the positions (open_clip's resize_text_pos_embed).</summary>
    static Tensor Linear(Tensor positions, long rows)
    {
        var line = positions.to(float32).permute(1, 0).unsqueeze(0); // [1, W, C]
        var scaled = nn.functional.interpolate(
            line,
            size: [rows],
            mode: InterpolationMode.Linear,
            align_corners: false
        );
        return scaled.squeeze(0).permute(1, 0);
    }
}
