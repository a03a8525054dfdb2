using System.Text;
using System.Text.Json.Nodes;

namespace SemiClip.Training;

/// <summary>The one place every config field is explained: <c>semiclip train --print-config</c> prints it with
/// the effective and default values, and the README's config reference is this table (a test keeps them in
/// step, and fails when a field has no entry here).</summary>
public static class ConfigReference
{
    public static readonly IReadOnlyDictionary<string, string> Meaning = new Dictionary<string, string>
    {
        ["run_name"] = "run folder name under runs_dir (unset: the UTC time)",
        ["runs_dir"] = "where run folders go",
        ["model"] = "built-in architecture (tiny-vit, ViT-B-32, RN50, …) or a model config JSON; ignored with pretrained",
        ["pretrained"] = "starting weights: a .safetensors file (OpenAI/OpenCLIP/HF names) or a finished run folder",
        ["activation"] = "with pretrained: auto (the weights' record; else QuickGELU, said) | quick_gelu | gelu (open_clip LAION/DataComp)",
        ["vocab"] = "tokenizer: openai (embedded), a merges file, or an HF vocab.json",
        ["image_size"] = "input resolution (unset: the model's); with pretrained, the position grid is interpolated bicubically",
        ["context_length"] = "text context in tokens (unset: the model's); with pretrained, text positions are interpolated",
        ["vocab_size"] = "token embedding rows for a model from scratch (unset: the architecture's)",
        ["train_data"] = "caption file (CSV/TSV, JSON Lines, Karpathy JSON) or webdataset .tar shards ({000000..000099}.tar, :: joins patterns)",
        ["image_root"] = "folder image paths are relative to (unset: the caption file's folder)",
        ["split"] = "Karpathy split to train on (other formats have none)",
        ["unpaired"] = "extra unpaired images for S-CLIP: a folder, a list file, or .tar shards (with shard train_data)",
        ["label_ratio"] = "fraction of images kept paired; the rest become unpaired",
        ["split_seed"] = "which images are paired (unset: seed)",
        ["keywords"] = "keyword file for S-CLIP's keyword loss, one per line (`semiclip keywords` makes one)",
        ["keyword_match"] = "reference (\" k \" in \" caption \", as alinlab/s-clip) or words (whole words, punctuation as a boundary)",
        ["check_images"] = "before training, check every image: headers (files that are not images), full (decode all), none",
        ["skip_bad"] = "skip and list unreadable images and bad rows instead of stopping",
        ["cache_images"] = "keep decoded, shrunk images in memory",
        ["cache_images_mb"] = "image cache budget in MiB (unset: a quarter of available memory)",
        ["csv_img_key"] = "CSV/TSV column with the image path",
        ["csv_caption_key"] = "CSV/TSV column with the caption",
        ["csv_separator"] = "CSV/TSV separator (unset: tab for .tsv, comma otherwise)",
        ["horizontal_flip"] = "random horizontal flips (off: flips change meaning for text in figures and maps)",
        ["image_mean"] = "per-channel mean [R, G, B] images are normalised with (unset: the starting model's, else OpenAI's)",
        ["image_std"] = "per-channel std [R, G, B] (unset: the starting model's, else OpenAI's)",
        ["image_interpolation"] = "bicubic | bilinear | nearest (unset: the starting model's, else bicubic)",
        ["image_resize_mode"] = "shortest (resize + centre crop) | squash | longest (+ pad: keeps figure and tile borders); unset: the model's",
        ["image_mode"] = "RGB, or L: every image to grey first (one-channel data); unset: the model's, else RGB",
        ["aug_scale"] = "training crop: [min, max] fraction of the image area (RandomResizedCrop scale)",
        ["aug_ratio"] = "training crop: [min, max] aspect ratio (RandomResizedCrop ratio)",
        ["color_jitter"] = "training: [brightness, contrast, saturation] jitter strengths (torchvision's ColorJitter; 0: none)",
        ["color_jitter_prob"] = "training: probability an image is colour-jittered",
        ["gray_scale_prob"] = "training: probability an image is turned grey",
        ["shuffle_buffer"] = "webdataset shards: samples held by the bounded shuffle (memory stays bounded by it)",
        ["workers"] = "threads that decode and augment images",
        ["method"] = "clip | sclip | softclip | sclip+softclip",
        ["loss.unpaired_as_negatives"] = "S-CLIP: unpaired images join the contrastive loss as extra negatives",
        ["loss.caption_weight"] = "S-CLIP: weight of the caption-level (optimal transport) pseudo-label loss",
        ["loss.keyword_weight"] = "S-CLIP: weight of the keyword partial-label loss (needs keywords)",
        ["loss.pseudo_label"] = "S-CLIP: optimal_transport | hard_nearest | soft_nearest",
        ["loss.sinkhorn_iterations"] = "S-CLIP: Sinkhorn iterations of the transport plan",
        ["loss.detach_plan"] = "S-CLIP: true stops gradients through the plan (the reference keeps them)",
        ["loss.support_queue_size"] = "S-CLIP: recent paired features the transport also matches against (0: the batch only)",
        ["loss.pseudo_label_ramp_steps"] = "S-CLIP: pseudo-label weights rise from 0 over this many steps (0: full from the start)",
        ["loss.pseudo_label_keep"] = "S-CLIP: fraction of unpaired images, most confident plan rows first, that train the pseudo-label terms (1: all)",
        ["loss.sinkhorn_epsilon"] = "S-CLIP: fixed entropic regularisation of the transport (0: 1/logit scale, as the reference)",
        ["loss.soft_alpha"] = "SoftCLIP: weight α of the intra-modal soft target against the identity",
        ["loss.soft_temperature"] = "SoftCLIP: temperature τ of the intra-modal softmax",
        ["loss.negatives_weight"] = "SoftCLIP: weight λ of the negatives-only KL term",
        ["loss.intra_source"] = "SoftCLIP: teacher (frozen starting model) | pooled | tokens (unset: teacher with pretrained, else pooled)",
        ["loss.token_attention_temperature"] = "SoftCLIP tokens source: temperature of the token attention pooling",
        ["epochs"] = "passes over the paired set (ignored when steps is set)",
        ["steps"] = "optimisation steps (unset: epochs × batches per epoch)",
        ["batch_size"] = "images per step; with split, half paired and half unpaired for S-CLIP",
        ["batch_composition"] = "split (the reference: batch_size is the total) or add (paired plus unpaired_batch_size)",
        ["unpaired_batch_size"] = "with add: unpaired images per step (unset: batch_size)",
        ["accum_steps"] = "gradient accumulation micro-batches per step (negatives still span the whole batch)",
        ["lr"] = "peak learning rate (AdamW, linear warm-up then cosine)",
        ["lock_image"] = "freeze the image tower (open_clip's --lock-image)",
        ["lock_image_unlocked_groups"] = "with lock_image: the top N groups stay trainable (ViT: ln_post + proj, then blocks; ResNet: attnpool, layer4, …)",
        ["lock_image_freeze_bn_stats"] = "with lock_image: BatchNorm statistics of the locked groups stay fixed (eval mode)",
        ["lock_text"] = "freeze the text tower (open_clip's --lock-text)",
        ["lock_text_unlocked_layers"] = "with lock_text: the top N groups stay trainable (ln_final + projection, then blocks)",
        ["lock_text_freeze_layer_norm"] = "with lock_text: LayerNorms stay frozen in the unlocked groups too",
        ["image_layer_decay"] = "layer-wise lr decay of the image tower: lr × decay^(groups from the top) (1: off)",
        ["text_layer_decay"] = "layer-wise lr decay of the text tower: lr × decay^(groups from the top) (1: off)",
        ["weight_decay"] = "AdamW decoupled weight decay (not on gains, biases or logit_scale)",
        ["beta1"] = "AdamW β1",
        ["beta2"] = "AdamW β2 (unset: 0.98 for a ViT image tower, 0.999 for a ResNet one, as open_clip)",
        ["eps"] = "AdamW ε (unset: 1e-6 for ViT, 1e-8 for ResNet)",
        ["warmup_steps"] = "linear warm-up steps",
        ["grad_clip_norm"] = "clip the gradient's global norm (0: no clipping, as the reference)",
        ["precision"] = "fp32 or bf16 (bf16 weights with float32 master copies and losses)",
        ["seed"] = "initialisation, data order, captions drawn and augmentation",
        ["eval_every_epochs"] = "evaluate during training every N epochs (0: never)",
        ["eval_every_steps"] = "also evaluate every N steps (0: only by epochs)",
        ["keep_best"] = "keep the weights of the best evaluation in best/: val_zero_shot_top1, val_zero_shot_top5, val_mean_recall, " +
            "val_i2t_r1, val_t2i_r1 or val_loss (lower is better)",
        ["eval_classification"] = "zero-shot data for evaluation during training: a class folder or class CSV",
        ["eval_captions"] = "retrieval data for evaluation during training: a caption file",
        ["eval_image_root"] = "folder evaluation image paths are relative to (unset: image_root for eval_captions, the file's folder for eval_classification)",
        ["eval_split"] = "Karpathy split of eval_captions read during training (val: the test split stays unseen)",
        ["eval_templates"] = "zero-shot prompt templates: a built-in set name or a file",
        ["checkpoint_every"] = "steps between checkpoints (0: only the final weights)",
        ["log_every"] = "steps between metrics lines",
        ["device"] = "auto | cpu | cuda | cuda:N",
        ["threads"] = "CPU threads for tensor math, set by `semiclip train` (0: TorchSharp's default; library callers set their own)",
        ["effective_split_seed"] = "(written by a run, not read) the split seed in effect: split_seed, else seed",
    };

    /// <summary>Every field as (dotted name, value) in file order, from a config's JSON form.</summary>
    public static IEnumerable<(string Field, JsonNode? Value)> Fields(TrainConfig config) => TrainConfig.Leaves(JsonNode.Parse(config.ToJson())!.AsObject());

    /// <summary>One line per field: name = effective value (default …, if different) # meaning.</summary>
    public static string Render(TrainConfig config)
    {
        var defaults = Fields(new TrainConfig()).ToDictionary(f => f.Field, f => Text(f.Value));
        var sb = new StringBuilder();
        foreach (var (field, value) in Fields(config))
        {
            var now = Text(value);
            var fallback = defaults.GetValueOrDefault(field, "unset");
            sb.Append(field).Append(" = ").Append(now);
            if (now != fallback) sb.Append("   (default ").Append(fallback).Append(')');
            sb.Append("   # ").Append(Meaning.GetValueOrDefault(field, "(undocumented)")).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The README's table: field, default, meaning.</summary>
    public static string Markdown()
    {
        var sb = new StringBuilder("| field | default | meaning |\n|---|---|---|\n");
        foreach (var (field, value) in Fields(new TrainConfig()))
            sb.Append($"| `{field}` | `{Text(value)}` | {Meaning.GetValueOrDefault(field, "(undocumented)").Replace("|", "\\|")} |\n");
        return sb.ToString();
    }

    static string Text(JsonNode? v) => v is null ? "unset" : v.ToJsonString();
}
