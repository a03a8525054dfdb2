using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using SemiClip.Data.Images;
using SemiClip.IO;
using SemiClip.Model;
using SemiClip.Tokenization;

namespace SemiClip.Export;

/// <summary>The formats a trained model leaves SemiClip in.</summary>
public enum ExportFormat
{
    Onnx,
    HuggingFace,
    OpenClip,
}

/// <summary>Writes a model with its tokenizer and preprocessing into a fresh folder that another tool loads as it is:
/// ONNX Runtime (the Xenova layout .NET and transformers.js CLIP libraries read), Hugging Face's CLIPModel, or
/// open_clip's <c>local-dir:</c>. The folder is assembled beside its destination and renamed into place, so a
/// failed export leaves nothing half-written, and an existing folder is never written into.</summary>
public static class ModelExport
{
    static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static ExportFormat ParseFormat(string text) =>
        text switch
        {
            "onnx" => ExportFormat.Onnx,
            "hf" => ExportFormat.HuggingFace,
            "open_clip" => ExportFormat.OpenClip,
            _ => throw new ArgumentException($"--format '{text}' is not onnx, hf or open_clip."),
        };

    /// <summary>Returns the files written, relative to <paramref name="outDir"/>.</summary>
    public static IReadOnlyList<string> Write(
        ModelBundle bundle,
        ExportFormat format,
        string outDir,
        bool halfWeights = false
    )
    {
        if (format == ExportFormat.OpenClip && HasWebPretrainedTower(bundle.Model.Config))
            throw new NotSupportedException(
                "--format open_clip: this model has a web-pretrained tower (ImageNet ResNet or BERT). open_clip builds "
                    + "such towers from timm and Hugging Face model names (timm's resnet18 has 2,2,2,2 blocks and "
                    + "symmetric padding, HF's BertModel is fetched by name), so no local folder of its own holds "
                    + "them; use --format onnx or hf (an ONNX pair with the tokenizer and preprocessing)."
            );
        outDir = Path.GetFullPath(outDir);
        if (File.Exists(outDir) || Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
            throw new ArgumentException(
                $"--out {outDir} already exists; an export goes into a fresh folder (choose a new one, or remove it)."
            );
        StagedFolder.Write(
            outDir,
            staging =>
            {
                switch (format)
                {
                    case ExportFormat.Onnx:
                        WriteOnnx(bundle, staging, halfWeights);
                        break;
                    case ExportFormat.HuggingFace:
                        WriteHuggingFace(bundle, staging, halfWeights);
                        break;
                    default:
                        WriteOpenClip(bundle, staging);
                        break;
                }
            },
            makeRoom: target =>
            {
                if (Directory.Exists(target))
                    Directory.Delete(target); // the empty folder a caller may have made
            }
        );
        return Directory
            .GetFiles(outDir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(outDir, f))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>text_model.onnx, vision_model.onnx, the tokenizer's vocab.json and merges.txt, and the image
    /// processor.</summary>
    static void WriteOnnx(ModelBundle bundle, string dir, bool halfWeights)
    {
        AtomicFile.Write(Path.Combine(dir, "text_model.onnx"), s =>
            OnnxTowers.Text(bundle.Model, halfWeights).WriteTo(s)
        );
        AtomicFile.Write(Path.Combine(dir, "vision_model.onnx"), s =>
            OnnxTowers.Vision(bundle.Model, halfWeights).WriteTo(s)
        );
        WriteTokenizerFiles(bundle, dir);
    }

    static void WriteHuggingFace(ModelBundle bundle, string dir, bool halfWeights)
    {
        var onnx = Directory.CreateDirectory(Path.Combine(dir, "onnx")).FullName;
        AtomicFile.Write(Path.Combine(onnx, "text_model.onnx"), s =>
            OnnxTowers.Text(bundle.Model, halfWeights).WriteTo(s)
        );
        AtomicFile.Write(Path.Combine(onnx, "vision_model.onnx"), s =>
            OnnxTowers.Vision(bundle.Model, halfWeights).WriteTo(s)
        );
        WriteTokenizerFiles(bundle, dir);
        if (HasWebPretrainedTower(bundle.Model.Config))
        {
            // VisionTextDualEncoderModel projects its towers' pooler_output: BertModel's is tanh(dense([CLS])), not a
            // mean or a bare [CLS], and ResNetModel's is [N, C, 1, 1]; a config.json would load a different model.
            AtomicFile.WriteAllText(
                Path.Combine(dir, "README.md"),
                "# A CLIP with web-pretrained towers\n\nHugging Face's `VisionTextDualEncoderModel` projects each "
                    + "tower's `pooler_output`: BERT's is tanh(dense([CLS])) rather than this model's pooled tokens, "
                    + "and a ResNet's is a [N, C, 1, 1] map, so no `config.json` here would load this model. The ONNX "
                    + "pair in `onnx/` (text_model.onnx, vision_model.onnx) runs in ONNX Runtime and transformers.js "
                    + "with the tokenizer (vocab.txt, tokenizer.json) and preprocessor files here.\n"
            );
            return;
        }
        if (bundle.Model.Config.Vision.IsResNet)
        {
            // transformers' CLIPModel has no ResNet image tower: a config.json for one would load as a broken model.
            AtomicFile.WriteAllText(
                Path.Combine(dir, "README.md"),
                "# A ResNet CLIP\n\nHugging Face's `CLIPModel` has no ResNet image tower, "
                    + "so this folder holds no `config.json` or `model.safetensors` for it. The ONNX pair in `onnx/` "
                    + "(text_model.onnx, "
                    + "vision_model.onnx) runs in ONNX Runtime and transformers.js with the tokenizer and "
                    + "preprocessor files here; "
                    + "`semiclip export --format open_clip` writes weights open_clip loads.\n"
            );
            return;
        }
        ClipCheckpoint.Save(bundle.Model, Path.Combine(dir, "model.safetensors"), WeightNaming.HuggingFace);
        AtomicFile.WriteAllText(Path.Combine(dir, "config.json"), HuggingFaceConfig(bundle).ToJsonString(Indented));
    }

    static void WriteOpenClip(ModelBundle bundle, string dir)
    {
        ClipCheckpoint.Save(bundle.Model, Path.Combine(dir, "open_clip_model.safetensors"));
        var modelCfg = JsonNode.Parse(bundle.Model.Config.ToJson())!.AsObject();
        var preprocess = (JsonObject)modelCfg["preprocess_cfg"]!.DeepClone();
        modelCfg.Remove("preprocess_cfg");
        preprocess["size"] = bundle.Model.Config.Vision.ImageSize;
        // open_clip's PreprocessCfg accepts mode RGB only; a grey-mode model's setting is kept under a key it ignores.
        if (bundle.Model.Config.Preprocess.Mode != "RGB")
        {
            preprocess["semiclip_mode"] = bundle.Model.Config.Preprocess.Mode;
            preprocess["mode"] = "RGB";
        }
        var config = new JsonObject { ["model_cfg"] = modelCfg, ["preprocess_cfg"] = preprocess };
        // open_clip reads a custom tokenizer from the HF files named in text_cfg; OpenAI's is its default.
        if (!IsOpenAiVocabulary(bundle.ClipTokenizer))
        {
            WriteTokenizerFiles(bundle, dir);
            modelCfg["text_cfg"]!["hf_tokenizer_name"] = ".";
        }
        AtomicFile.WriteAllText(Path.Combine(dir, "open_clip_config.json"), config.ToJsonString(Indented));
    }

    static bool HasWebPretrainedTower(ClipConfig c) => c.Text.Bert != null || c.Vision.ImageNet != null;

    static bool IsOpenAiVocabulary(ClipTokenizer t) =>
        t.VocabSize == ClipTokenizer.OpenAi().VocabSize && t.Merges.SequenceEqual(ClipTokenizer.OpenAi().Merges);

    /// <summary>vocab.json, merges.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
    /// preprocessor_config.json.</summary>
    static void WriteTokenizerFiles(ModelBundle bundle, string dir)
    {
        // The fingerprint of the exported model, so an index made from this folder and one made from the run match.
        AtomicFile.WriteAllText(
            Path.Combine(dir, "semiclip_model.json"),
            new JsonObject { ["fingerprint"] = ModelFingerprint.Of(bundle.Model) }.ToJsonString(Indented)
        );
        AtomicFile.WriteAllText(
            Path.Combine(dir, "preprocessor_config.json"),
            PreprocessorConfig(bundle.Model.Config).ToJsonString(Indented)
        );
        if (bundle.Tokenizer is WordPieceTokenizer wordPiece)
        {
            WriteWordPieceFiles(wordPiece, bundle.Model.Config.Text.ContextLength, dir);
            return;
        }
        var t = bundle.ClipTokenizer;
        var vocab = new JsonObject();
        foreach (var (token, id) in t.Vocabulary().OrderBy(kv => kv.Value))
            vocab[token] = id;
        AtomicFile.WriteAllText(
            Path.Combine(dir, "vocab.json"),
            vocab.ToJsonString(new JsonSerializerOptions { Encoder = Indented.Encoder })
        );
        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (left, right) in t.Merges)
            merges.Append(left).Append(' ').Append(right).Append('\n');
        AtomicFile.WriteAllText(Path.Combine(dir, "merges.txt"), merges.ToString());
        AtomicFile.WriteAllText(
            Path.Combine(dir, "tokenizer.json"),
            HuggingFaceTokenizer.Json(t).ToJsonString(Indented)
        );
        var context = bundle.Model.Config.Text.ContextLength;
        AtomicFile.WriteAllText(
            Path.Combine(dir, "tokenizer_config.json"),
            new JsonObject
            {
                ["tokenizer_class"] = "CLIPTokenizer",
                ["model_max_length"] = context,
                ["bos_token"] = ClipTokenizer.StartOfText,
                ["eos_token"] = ClipTokenizer.EndOfText,
                ["pad_token"] = ClipTokenizer.EndOfText,
                ["unk_token"] = ClipTokenizer.EndOfText,
                ["do_lower_case"] = true,
                ["errors"] = "replace",
                ["clean_up_tokenization_spaces"] = false,
            }.ToJsonString(Indented)
        );
        AtomicFile.WriteAllText(
            Path.Combine(dir, "special_tokens_map.json"),
            new JsonObject
            {
                ["bos_token"] = ClipTokenizer.StartOfText,
                ["eos_token"] = ClipTokenizer.EndOfText,
                ["pad_token"] = ClipTokenizer.EndOfText,
                ["unk_token"] = ClipTokenizer.EndOfText,
            }.ToJsonString(Indented)
        );
    }

    /// <summary>A BERT tokenizer's files as Hugging Face's BertTokenizer(Fast) reads them: vocab.txt, tokenizer.json,
    /// tokenizer_config.json, special_tokens_map.json.</summary>
    static void WriteWordPieceFiles(WordPieceTokenizer t, int context, string dir)
    {
        AtomicFile.WriteAllText(Path.Combine(dir, "vocab.txt"), t.VocabularyText);
        AtomicFile.WriteAllText(
            Path.Combine(dir, "tokenizer.json"),
            HuggingFaceTokenizer.WordPieceJson(t.Vocabulary, t.Lowercase, context).ToJsonString(Indented)
        );
        JsonObject Specials() =>
            new()
            {
                ["cls_token"] = "[CLS]",
                ["sep_token"] = "[SEP]",
                ["pad_token"] = "[PAD]",
                ["unk_token"] = "[UNK]",
                ["mask_token"] = "[MASK]",
            };
        var config = Specials();
        config["tokenizer_class"] = "BertTokenizer";
        config["do_lower_case"] = t.Lowercase;
        config["model_max_length"] = context;
        config["clean_up_tokenization_spaces"] = true;
        AtomicFile.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString(Indented));
        AtomicFile.WriteAllText(Path.Combine(dir, "special_tokens_map.json"), Specials().ToJsonString(Indented));
    }

    /// <summary>Hugging Face's CLIPImageProcessor settings for the model's preprocessing. Its resize modes map onto
    /// HF's (shortest: shortest_edge + centre crop; squash: height/width, no crop); longest + pad has no HF equivalent
    /// and is recorded as <c>semiclip_resize_mode</c> for SemiClip's own ONNX reader.</summary>
    public static JsonObject PreprocessorConfig(ClipConfig c)
    {
        var p = c.Preprocess;
        int size = c.Vision.ImageSize;
        var json = new JsonObject
        {
            ["image_processor_type"] = "CLIPImageProcessor",
            ["feature_extractor_type"] = "CLIPFeatureExtractor",
            ["do_resize"] = true,
            ["do_center_crop"] = p.ResizeMode == "shortest",
            ["do_normalize"] = true,
            ["do_rescale"] = true,
            ["rescale_factor"] = 1.0 / 255,
            ["do_convert_rgb"] = true,
            ["image_mean"] = new JsonArray(p.Mean.R, p.Mean.G, p.Mean.B),
            ["image_std"] = new JsonArray(p.Std.R, p.Std.G, p.Std.B),
            ["resample"] = p.Interpolation switch
            {
                "nearest" => 0,
                "bilinear" => 2,
                _ => 3,
            },
            ["size"] =
                p.ResizeMode == "shortest"
                    ? new JsonObject { ["shortest_edge"] = size }
                    : new JsonObject { ["height"] = size, ["width"] = size },
            ["crop_size"] = new JsonObject { ["height"] = size, ["width"] = size },
            ["semiclip_resize_mode"] = p.ResizeMode,
            ["semiclip_mode"] = p.Mode,
            ["semiclip_fill_color"] = p.FillColor,
        };
        return json;
    }

    /// <summary>transformers' CLIPConfig. The text tower pools where input_ids equals eos_token_id (for any id but the
    /// legacy 2), so the ids are the model's own vocabulary's: a SemiClip vocabulary ends elsewhere than
    /// OpenAI's.</summary>
    public static JsonObject HuggingFaceConfig(ModelBundle bundle) =>
        HuggingFaceConfig(
            bundle.Model.Config,
            bundle.ClipTokenizer.StartOfTextId,
            bundle.ClipTokenizer.EndOfTextId,
            bundle.Model.LogitScaleParameter.detach().cpu().item<float>()
        );

    public static JsonObject HuggingFaceConfig(ClipConfig c, int startOfText, int endOfText, double logitScale = 2.6592)
    {
        if (c.Vision.IsResNet)
            throw new NotSupportedException("Hugging Face CLIPModel has no ResNet vision tower.");
        return new JsonObject
        {
            ["architectures"] = new JsonArray("CLIPModel"),
            ["model_type"] = "clip",
            ["projection_dim"] = c.EmbedDim,
            ["logit_scale_init_value"] = logitScale,
            ["torch_dtype"] = "float32",
            ["text_config"] = new JsonObject
            {
                ["hidden_size"] = c.Text.Width,
                ["intermediate_size"] = (int)(c.Text.Width * c.Text.MlpRatio),
                ["num_attention_heads"] = c.Text.Heads,
                ["num_hidden_layers"] = c.Text.Layers,
                ["max_position_embeddings"] = c.Text.ContextLength,
                ["vocab_size"] = c.Text.VocabSize,
                ["hidden_act"] = c.Activation,
                ["projection_dim"] = c.EmbedDim,
                ["layer_norm_eps"] = 1e-5,
                ["bos_token_id"] = startOfText,
                ["eos_token_id"] = endOfText,
                ["pad_token_id"] = endOfText,
            },
            ["vision_config"] = new JsonObject
            {
                ["hidden_size"] = c.Vision.Width,
                ["intermediate_size"] = (int)(c.Vision.Width * c.Vision.MlpRatio),
                ["num_attention_heads"] = c.Vision.Heads,
                ["num_hidden_layers"] = c.Vision.Layers,
                ["image_size"] = c.Vision.ImageSize,
                ["patch_size"] = c.Vision.PatchSize,
                ["hidden_act"] = c.Activation,
                ["projection_dim"] = c.EmbedDim,
                ["layer_norm_eps"] = 1e-5,
                ["num_channels"] = 3,
            },
        };
    }
}
