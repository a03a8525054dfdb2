#!/usr/bin/env python3
"""S-CLIP's reference loss (alinlab/s-clip custom/loss.py) in a small PyTorch loop, on the data SemiClip's
real-data benchmark trains and evaluates on, so SemiClip's S-CLIP can be told apart from the method's limits.

The loss file is fetched by the user and passed by path; nothing is fetched or vendored here. Its only
dependencies outside PyTorch are `ot` (Debian: python3-pot) and open_clip's ClipLoss base class, which this
script stands in for with the two members the reference uses (the constructor's options and
get_ground_truth). The model is OpenAI CLIP's architecture written out below, loaded strictly by name from the
15-class start SemiClip saved; the data are `bench reference-export`'s arrays (SemiClip's own pixels, tokens,
keyword labels and paired subsets). The loop is open_clip's: AdamW (β 0.9/0.98, ε 1e-6, no decay on gains,
biases and the temperature), warm-up then cosine, the temperature clamped to [0, ln 100] after each step.

    python3 bench/reference/sclip_reference.py --loss-file S-CLIP/custom/loss.py \\
        --data runs/bench-real/reference-data --method ours --seed 0 --out runs/bench-real/reference/ours-s0.json
"""
import argparse
import importlib.util
import json
import math
import os
import sys
import time
import types
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def install_open_clip_stand_in():
    """open_clip.loss.ClipLoss as far as the reference's SemiSupervisedClipLoss uses it (one process, no gather)."""
    class ClipLoss(nn.Module):
        def __init__(self, local_loss=False, gather_with_grad=False, cache_labels=False, rank=0, world_size=1,
                     use_horovod=False):
            super().__init__()
            self.local_loss, self.gather_with_grad, self.cache_labels = local_loss, gather_with_grad, cache_labels
            self.rank, self.world_size, self.use_horovod = rank, world_size, use_horovod

        def get_ground_truth(self, device, num_logits):
            return torch.arange(num_logits, device=device, dtype=torch.long)

    package = types.ModuleType("open_clip")
    loss = types.ModuleType("open_clip.loss")
    loss.ClipLoss = ClipLoss
    package.loss = loss
    sys.modules["open_clip"], sys.modules["open_clip.loss"] = package, loss


def sinkhorn_in_the_marginals_dtype():
    """POT 0.8 (Debian's) refuses a float32 cost with the reference's float64 marginals; newer POT casts. The plan is
    computed in float64 and the reference casts it back (plan.type_as(support)), gradients flowing as before."""
    import ot
    original = ot.bregman.sinkhorn

    def sinkhorn(a, b, M, *args, **kwargs):
        return original(a, b, M.to(a.dtype), *args, **kwargs)

    ot.bregman.sinkhorn = sinkhorn


def load_reference_loss(path):
    install_open_clip_stand_in()
    sinkhorn_in_the_marginals_dtype()
    # The reference stops Sinkhorn at 10 iterations by design; POT warns about it on every step.
    warnings.filterwarnings("ignore", message="Sinkhorn did not converge")
    spec = importlib.util.spec_from_file_location("sclip_reference_loss", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_safetensors(path):
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len))
        data = f.read()
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.astype(np.float32))
    return tensors


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, 4 * width))
        self.mlp.add_module("gelu", nn.GELU())
        self.mlp.add_module("c_proj", nn.Linear(4 * width, width))

    def forward(self, x, mask=None):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads):
        super().__init__()
        self.resblocks = nn.ModuleList([Block(width, heads) for _ in range(layers)])

    def forward(self, x, mask=None):
        for block in self.resblocks:
            x = block(x, mask)
        return x


class Vision(nn.Module):
    def __init__(self, size, patch, width, layers, heads, embed):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros((size // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.zeros(width, embed))

    def forward(self, x):
        x = self.conv1(x).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = self.ln_pre(torch.cat([cls, x], dim=1) + self.positional_embedding)
        return self.ln_post(self.transformer(x)[:, 0]) @ self.proj


class Clip(nn.Module):
    """OpenAI CLIP's ViT model, parameter names as its state dict (open_clip's too)."""

    def __init__(self, cfg):
        super().__init__()
        v, t = cfg["vision"], cfg["text"]
        self.visual = Vision(v["image_size"], v["patch_size"], v["width"], v["layers"], v["heads"], cfg["embed_dim"])
        self.token_embedding = nn.Embedding(t["vocab_size"], t["width"])
        self.positional_embedding = nn.Parameter(torch.zeros(t["context_length"], t["width"]))
        self.transformer = Transformer(t["width"], t["layers"], t["heads"])
        self.ln_final = nn.LayerNorm(t["width"])
        self.text_projection = nn.Parameter(torch.zeros(t["width"], cfg["embed_dim"]))
        self.logit_scale = nn.Parameter(torch.zeros([]))
        n = t["context_length"]
        self.register_buffer("mask", torch.full((n, n), float("-inf")).triu(1), persistent=False)

    def encode_image(self, images, normalize=True):
        x = self.visual(images)
        return F.normalize(x, dim=-1) if normalize else x

    def encode_text(self, tokens, normalize=True):
        x = self.token_embedding(tokens) + self.positional_embedding[: tokens.shape[1]]
        x = self.ln_final(self.transformer(x, self.mask[: tokens.shape[1], : tokens.shape[1]]))
        x = x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)] @ self.text_projection
        return F.normalize(x, dim=-1) if normalize else x


def config_from_state(state, heads_width=64):
    width = state["visual.conv1.weight"].shape[0]
    patch = state["visual.conv1.weight"].shape[-1]
    grid = int(round(math.sqrt(state["visual.positional_embedding"].shape[0] - 1)))
    text_width = state["ln_final.weight"].shape[0]
    count = lambda prefix: len({k.split(".")[len(prefix.split("."))] for k in state if k.startswith(prefix)})
    return {
        "embed_dim": state["text_projection"].shape[1],
        "vision": {"image_size": grid * patch, "patch_size": patch, "width": width,
                   "layers": count("visual.transformer.resblocks."), "heads": width // heads_width},
        "text": {"vocab_size": state["token_embedding.weight"].shape[0], "width": text_width,
                 "context_length": state["positional_embedding"].shape[0],
                 "layers": count("transformer.resblocks."), "heads": text_width // heads_width},
    }


def load_state(model, state):
    # nn.MultiheadAttention keeps in_proj_* and out_proj.* exactly as OpenAI's checkpoints name them.
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SystemExit(f"start weights do not match the model: missing {missing}, unexpected {unexpected}")


class Data:
    def __init__(self, folder):
        self.folder = folder
        self.manifest = json.load(open(os.path.join(folder, "manifest.json")))
        m = self.manifest
        s, n, c, k = m["image_size"], m["train_images"], m["captions_per_image"], len(m["keywords"])
        ctx = m["context_length"]
        read = lambda name, dtype: np.fromfile(os.path.join(folder, name), dtype=dtype)
        self.train_images = torch.from_numpy(read("train_images.u8", np.uint8).reshape(n, 3, s, s))
        self.test_images = torch.from_numpy(read("test_images.u8", np.uint8).reshape(m["test_images"], 3, s, s))
        self.tokens = torch.from_numpy(read("train_tokens.i32", np.int32).reshape(n, c, ctx).astype(np.int64))
        self.caption_counts = read("train_caption_counts.i32", np.int32)
        self.keyword_labels = torch.from_numpy(read("train_keyword_labels.u8", np.uint8).reshape(n, c, k).astype(np.float32))
        self.keyword_tokens = torch.from_numpy(read("keyword_tokens.i32", np.int32).reshape(k, ctx).astype(np.int64))
        self.class_tokens = torch.from_numpy(read("class_tokens.i32", np.int32).reshape(
            len(m["templates"]), len(m["classes"]), ctx).astype(np.int64))
        self.test_labels = torch.from_numpy(read("test_labels.i32", np.int32).astype(np.int64))
        self.mean = torch.tensor(m["mean"]).view(1, 3, 1, 1)
        self.std = torch.tensor(m["std"]).view(1, 3, 1, 1)

    def normalise(self, images_u8):
        return (images_u8.float() / 255 - self.mean) / self.std


def random_resized_crop(images_u8, generator, scale=(0.9, 1.0), ratio=(3 / 4, 4 / 3)):
    """torchvision's RandomResizedCrop sampling (10 tries, then the centre) on the already-resized images."""
    out = []
    size = images_u8.shape[-1]
    area = size * size
    for image in images_u8:
        for _ in range(10):
            target = area * (scale[0] + (scale[1] - scale[0]) * torch.rand(1, generator=generator).item())
            log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
            aspect = math.exp(log_ratio[0] + (log_ratio[1] - log_ratio[0]) * torch.rand(1, generator=generator).item())
            w, h = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
            if 0 < w <= size and 0 < h <= size:
                top = int(torch.randint(0, size - h + 1, (1,), generator=generator))
                left = int(torch.randint(0, size - w + 1, (1,), generator=generator))
                break
        else:
            w = h = size
            top = left = 0
        crop = image[:, top:top + h, left:left + w].float().unsqueeze(0)
        out.append(F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False)[0])
    return torch.stack(out).round().clamp(0, 255).to(torch.uint8)


def zero_shot(model, data):
    model.eval()
    with torch.no_grad():
        text = torch.stack([model.encode_text(t) for t in data.class_tokens]).mean(0)
        text = F.normalize(text, dim=-1)
        predictions = []
        for i in range(0, len(data.test_images), 256):
            image = model.encode_image(data.normalise(data.test_images[i:i + 256]))
            predictions.append((image @ text.T).argmax(dim=-1))
        predictions = torch.cat(predictions)
    model.train()
    correct = (predictions == data.test_labels).float()
    classes = data.manifest["classes"]
    per_class = {c: correct[data.test_labels == i].mean().item() for i, c in enumerate(classes)}
    mean_over = lambda names: sum(per_class[c] for c in names) / len(names)
    return {"top1": correct.mean().item(), "top1_seen": mean_over(data.manifest["pretrain_classes"]),
            "top1_new": mean_over(data.manifest["new_classes"])}


def lr_at(step, base, warmup, total):
    if step < warmup:
        return base * (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup))) * base


class Stream:
    """Index batches of one pool, reshuffled each pass, last partial batch dropped (open_clip's loaders)."""

    def __init__(self, indices, batch, generator):
        self.indices, self.batch, self.generator, self.order, self.at = indices, batch, generator, None, 0

    def next(self):
        if self.order is None or self.at + self.batch > len(self.order):
            self.order = self.indices[torch.randperm(len(self.indices), generator=self.generator)]
            self.at = 0
        chosen = self.order[self.at:self.at + self.batch]
        self.at += self.batch
        return chosen


def summarise(folder, out):
    """bench/results/reference-sclip.{json,md} from the runs' JSON files: per seed, CLIP, S-CLIP and their difference."""
    runs = [json.load(open(os.path.join(folder, f))) for f in sorted(os.listdir(folder)) if f.endswith(".json")]
    by = {(r["method"], r["seed"]): r for r in runs}
    seeds = sorted({s for (_, s) in by})
    lines = ["# S-CLIP's reference loss in PyTorch on the real-data benchmark's data", "",
             "alinlab/s-clip `custom/loss.py` in `bench/reference/sclip_reference.py` (Debian's PyTorch 1.13, POT 0.8), "
             "from the benchmark's 15-class start, 10% pairs, 250 steps, lr 5e-4, batch 64 (S-CLIP 32 + 32), test split, "
             "AID zero-shot top-1 (%).", "",
             "| seed | start | CLIP | S-CLIP | S-CLIP − CLIP | seen / new: CLIP | seen / new: S-CLIP | s/step CLIP / S-CLIP |",
             "|---|---|---|---|---|---|---|---|"]
    pct = lambda v: f"{100 * v:.1f}"
    for s in seeds:
        b, o = by.get(("base", s)), by.get(("ours", s))
        cell = lambda r, k: pct(r["final"][k]) if r else "–"
        start = b or o
        delta = f"{100 * (o['final']['top1'] - b['final']['top1']):+.1f}" if b and o else "–"
        sn = lambda r: f"{cell(r, 'top1_seen')} / {cell(r, 'top1_new')}"
        steps = lambda r: f"{r['step_seconds']:.2f}" if r else "–"
        lines.append(f"| {s} | {pct(start['start']['top1'])} | {cell(b, 'top1')} | {cell(o, 'top1')} | {delta} | {sn(b)} | {sn(o)} | "
                     f"{steps(b)} / {steps(o)} |")
    with open(out + ".json", "w") as f:
        json.dump({"runs": runs}, f, indent=2)
    with open(out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--summarise":
        return summarise(sys.argv[2], sys.argv[3])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Or: --summarise RUNS_DIR OUT (writes OUT.json and OUT.md).")
    parser.add_argument("--loss-file", required=True, help="alinlab/s-clip's custom/loss.py, fetched by you")
    parser.add_argument("--data", required=True, help="the folder `bench reference-export` wrote")
    parser.add_argument("--method", choices=["base", "ours"], required=True, help="the reference's names: CLIP, S-CLIP")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--weight-decay", type=float, default=0.2)
    parser.add_argument("--batch", type=int, default=64, help="images per step; S-CLIP: half paired, half unpaired")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    reference = load_reference_loss(args.loss_file)
    data = Data(args.data)
    state = read_safetensors(data.manifest["start"])
    model = Clip(config_from_state(state))
    load_state(model, state)
    start = zero_shot(model, data)

    loss_fn = reference.SemiSupervisedClipLoss(args.method)
    exclude = lambda n, p: p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n
    named = list(model.named_parameters())
    optimizer = torch.optim.AdamW([
        {"params": [p for n, p in named if exclude(n, p)], "weight_decay": 0.0},
        {"params": [p for n, p in named if not exclude(n, p)], "weight_decay": args.weight_decay},
    ], lr=args.lr, betas=(0.9, 0.98), eps=1e-6)

    paired = torch.tensor(data.manifest["paired"][str(args.seed)], dtype=torch.long)
    mask = torch.ones(data.manifest["train_images"], dtype=torch.bool)
    mask[paired] = False
    unpaired = torch.nonzero(mask).flatten()
    semi = args.method == "ours"
    paired_stream = Stream(paired, args.batch // 2 if semi else args.batch, generator)
    unpaired_stream = Stream(unpaired, args.batch - args.batch // 2, generator) if semi else None

    clock = time.time()
    step_seconds = []
    for step in range(args.steps):
        began = time.time()
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args.lr, args.warmup, args.steps)
        chosen = paired_stream.next()
        captions = torch.tensor([int(torch.randint(0, int(data.caption_counts[i]), (1,), generator=generator))
                                 for i in chosen.tolist()])
        images = data.normalise(random_resized_crop(data.train_images[chosen], generator))
        texts = data.tokens[chosen, captions]
        out = {"image_features": model.encode_image(images), "text_features": model.encode_text(texts),
               "logit_scale": model.logit_scale.exp()}
        if semi:
            queries = data.normalise(random_resized_crop(data.train_images[unpaired_stream.next()], generator))
            out["query_features"] = model.encode_image(queries)
            out["keyword_features"] = model.encode_text(data.keyword_tokens)
            # The reference's labels are [batch, keywords, 3] (found, position, length); it reads [..., 0] only.
            out["keyword_labels"] = data.keyword_labels[chosen, captions].unsqueeze(-1)
        losses = loss_fn(**out, output_dict=True)
        total = sum(losses.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        step_seconds.append(time.time() - began)
        if (step + 1) % 50 == 0:
            print(f"step {step + 1}: " + ", ".join(f"{k} {v.item():.4f}" for k, v in losses.items()), flush=True)
    seconds = time.time() - clock
    result = {"method": args.method, "seed": args.seed, "steps": args.steps, "lr": args.lr, "batch": args.batch,
              "paired_images": len(paired), "start": start, "final": zero_shot(model, data), "seconds": seconds,
              "step_seconds": sorted(step_seconds)[len(step_seconds) // 2],
              "logit_scale": model.logit_scale.exp().item(), "loss_file": os.path.abspath(args.loss_file)}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(args.out + ".tmp", args.out)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
