namespace SemiClip.Model;

/// <summary>The two state-dict namings SemiClip reads and writes.</summary>
public enum WeightNaming
{
    /// <summary>OpenAI CLIP / open_clip: <c>visual.conv1.weight</c>,
    /// <c>transformer.resblocks.N.attn.in_proj_weight</c>.</summary>
    OpenAi,

    /// <summary>Hugging Face <c>CLIPModel</c>: <c>vision_model.embeddings.patch_embedding.weight</c>, split
    /// q/k/v.</summary>
    HuggingFace,
}
