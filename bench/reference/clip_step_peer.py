#!/usr/bin/env python3
"""The PyTorch side of `bench speed --peer`: one CLIP training step of the architecture an open_clip model JSON
describes (ViT or OpenAI's ModifiedResNet image tower, causal text transformer), written out here so the same
script runs on Debian's PyTorch 1.13 and on a GPU machine's current PyTorch.

Same work as SemiClip's benchmark step: random weights, random images and tokens (end-of-text at position 12),
both towers forward, the symmetric contrastive loss, backward, AdamW (no decay on gains, biases and the
temperature), fp32. Prints one JSON line: {"step_ms": ..., ...}.

    python3 bench/reference/clip_step_peer.py --config model.json --batch 64 --steps 2 --threads 2 --device cpu
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    """Fused q/k/v projection as nn.MultiheadAttention holds it; the fused attention kernel where PyTorch has one."""

    def __init__(self, width, heads, causal):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.in_proj = nn.Linear(width, 3 * width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.in_proj(x).view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        if HAS_SDPA:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        else:
            scores = q @ k.transpose(-2, -1) / (c // self.heads) ** 0.5
            if self.causal:
                scores = scores + torch.full((n, n), float("-inf"), device=x.device).triu(1)
            y = scores.softmax(-1) @ v
        return self.out_proj(y.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, width, heads, mlp_ratio, quick_gelu, causal):
        super().__init__()
        hidden = int(width * mlp_ratio)
        self.ln_1, self.attn, self.ln_2 = nn.LayerNorm(width), Attention(width, heads, causal), nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), QuickGELU() if quick_gelu else nn.GELU(),
                                 nn.Linear(hidden, width))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


def transformer(width, layers, heads, mlp_ratio, quick_gelu, causal):
    return nn.Sequential(*[Block(width, heads, mlp_ratio, quick_gelu, causal) for _ in range(layers)])


class VisionTransformer(nn.Module):
    def __init__(self, v, embed, quick_gelu):
        super().__init__()
        width, patch = v["width"], v["patch_size"]
        grid = v["image_size"] // patch
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width) * 0.02)
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, width) * 0.01)
        self.ln_pre, self.ln_post = nn.LayerNorm(width), nn.LayerNorm(width)
        self.transformer = transformer(width, v["layers"], width // v.get("head_width", 64), v.get("mlp_ratio", 4.0),
                                       quick_gelu, causal=False)
        self.proj = nn.Parameter(torch.randn(width, embed) * width ** -0.5)

    def forward(self, x):
        x = self.conv1(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_embedding.expand(x.shape[0], 1, -1), x], dim=1) + self.positional_embedding
        return self.ln_post(self.transformer(self.ln_pre(x))[:, 0]) @ self.proj


class Bottleneck(nn.Module):
    """OpenAI's: stride-1 convolutions, downsampling by average pooling before the last 1×1 convolution."""

    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.branch = nn.Sequential(
            nn.Conv2d(inplanes, planes, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(inplace=True),
            nn.Conv2d(planes, planes, 3, padding=1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(inplace=True),
            nn.AvgPool2d(stride) if stride > 1 else nn.Identity(),
            nn.Conv2d(planes, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4))
        self.downsample = None
        if stride > 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(nn.AvgPool2d(stride), nn.Conv2d(inplanes, planes * 4, 1, bias=False),
                                            nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(self.branch(x) + identity)


class AttentionPool(nn.Module):
    """The mean token queries the feature map's tokens (keys and values for all of them)."""

    def __init__(self, grid, width, heads, out):
        super().__init__()
        self.heads = heads
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, width) / width ** 0.5)
        self.q_proj, self.k_proj, self.v_proj = nn.Linear(width, width), nn.Linear(width, width), nn.Linear(width, width)
        self.c_proj = nn.Linear(width, out)

    def forward(self, x):
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([x.mean(1, keepdim=True), x], 1) + self.positional_embedding
        b, n, c = x.shape
        h = self.heads
        q = self.q_proj(x[:, :1]).view(b, 1, h, c // h).transpose(1, 2)
        k = self.k_proj(x).view(b, n, h, c // h).transpose(1, 2)
        v = self.v_proj(x).view(b, n, h, c // h).transpose(1, 2)
        if HAS_SDPA:
            y = F.scaled_dot_product_attention(q, k, v)
        else:
            y = (q @ k.transpose(-2, -1) / (c // h) ** 0.5).softmax(-1) @ v
        return self.c_proj(y.transpose(1, 2).reshape(b, c))


class ModifiedResNet(nn.Module):
    def __init__(self, v, embed):
        super().__init__()
        w = v["width"]
        self.stem = nn.Sequential(
            nn.Conv2d(3, w // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w // 2), nn.ReLU(inplace=True),
            nn.Conv2d(w // 2, w // 2, 3, padding=1, bias=False), nn.BatchNorm2d(w // 2), nn.ReLU(inplace=True),
            nn.Conv2d(w // 2, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
            nn.AvgPool2d(2))
        stages, inplanes = [], w
        for i, blocks in enumerate(v["layers"]):
            planes = w << i
            for j in range(blocks):
                stages.append(Bottleneck(inplanes, planes, 2 if i > 0 and j == 0 else 1))
                inplanes = planes * 4
        self.stages = nn.Sequential(*stages)
        self.attnpool = AttentionPool(v["image_size"] // 32, inplanes, inplanes // v.get("head_width", 64), embed)

    def forward(self, x):
        return self.attnpool(self.stages(self.stem(x)))


class Clip(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        v, t, embed, quick = cfg["vision_cfg"], cfg["text_cfg"], cfg["embed_dim"], cfg.get("quick_gelu", False)
        self.visual = (ModifiedResNet(v, embed) if isinstance(v["layers"], list)
                       else VisionTransformer(v, embed, quick))
        self.token_embedding = nn.Embedding(t["vocab_size"], t["width"])
        self.positional_embedding = nn.Parameter(torch.randn(t["context_length"], t["width"]) * 0.01)
        self.transformer = transformer(t["width"], t["layers"], t["heads"], t.get("mlp_ratio", 4.0), quick,
                                       causal=True)
        self.ln_final = nn.LayerNorm(t["width"])
        self.text_projection = nn.Parameter(torch.randn(t["width"], embed) * t["width"] ** -0.5)
        self.logit_scale = nn.Parameter(torch.tensor(2.6592))

    def loss(self, images, tokens):
        image = F.normalize(self.visual(images), dim=-1)
        x = self.ln_final(self.transformer(self.token_embedding(tokens) + self.positional_embedding))
        text = F.normalize(x[torch.arange(x.shape[0]), tokens.argmax(-1)] @ self.text_projection, dim=-1)
        logits = self.logit_scale.exp() * image @ text.t()
        labels = torch.arange(len(images), device=images.device)
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    cfg = json.load(open(a.config))
    torch.manual_seed(0)
    model = Clip(cfg).to(a.device).train()
    decay = [q for n, q in model.named_parameters() if q.ndim >= 2 and "embedding" not in n]
    rest = [q for n, q in model.named_parameters() if not (q.ndim >= 2 and "embedding" not in n)]
    optimiser = torch.optim.AdamW([{"params": decay, "weight_decay": 0.2}, {"params": rest, "weight_decay": 0.0}],
                                  lr=1e-4, betas=(0.9, 0.98), eps=1e-6)
    size, t = cfg["vision_cfg"]["image_size"], cfg["text_cfg"]
    images = torch.randn(a.batch, 3, size, size, device=a.device)
    tokens = torch.randint(1, t["vocab_size"] - 2, (a.batch, t["context_length"]), device=a.device)
    tokens[:, 12] = t["vocab_size"] - 1
    tokens[:, 13:] = 0

    def step():
        optimiser.zero_grad(set_to_none=True)
        model.loss(images, tokens).backward()
        optimiser.step()

    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)
    for _ in range(a.warmup):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    sync()
    ms = (time.perf_counter() - start) * 1000 / a.steps
    print(json.dumps({"step_ms": ms, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "batch": a.batch, "steps": a.steps, "device": a.device, "fused_attention": HAS_SDPA}))


if __name__ == "__main__":
    main()
