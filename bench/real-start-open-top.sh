#!/usr/bin/env bash
# The packaged start adapted through `semiclip train` with its top image stage and top text layer open (the rest
# locked, the locked stages' batch-norm statistics kept): the one regime of `bench real-start` that no feature cache
# covers, so every step runs the whole ResNet18. CLIP and S-CLIP (32 + 32) at 10% pairs, the fixed protocol of
# `bench real-start` (lr 1e-3, 300 steps, last weights, no augmentation), seed 0; zero-shot on AID's 30 classes on
# RSICD's val and test splits and test retrieval.
# Writes bench/results/real-start-open-top.{json,md}. Usage: bench/real-start-open-top.sh [STEPS] (default 300);
# METHODS="clip sclip" (the default) picks the methods, REUSE=1 keeps runs and evaluations already made.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-300}
data=../shared/data/rsicd10k
out=runs/real-start-open-top
mkdir -p "$out"
dotnet build -c Release src/SemiClip.Cli >/dev/null
semiclip() { dotnet src/SemiClip.Cli/bin/Release/net10.0/SemiClip.Cli.dll "$@"; }
python3 bench/aid-class-csvs.py "$data" "$out"
common=(--pretrained resnet18-imagenet+minilm-l6 --data "$data/dataset_rsicd10k.json" --image-root "$data/images"
  --label-ratio 0.1 --batch-size 64 --runs-dir "$out" --steps "$steps" --set lock_image=true
  --set lock_image_unlocked_groups=1 --set lock_image_freeze_bn_stats=true --set lock_text=true
  --set lock_text_unlocked_layers=1 --set lr=1e-3 --set weight_decay=0.1 --set warmup_steps=10
  --set context_length=64 --set loss.keyword_weight=0 --set seed=0 --set checkpoint_every=1000
  --set "aug_scale=[1, 1]" --set "aug_ratio=[1, 1]" --overwrite)
rows=()
for method in ${METHODS:-clip sclip}; do
  if [ -z "${REUSE:-}" ] || [ ! -f "$out/$method/model.safetensors" ]; then
    semiclip train "${common[@]}" --run-name "$method" --method "$method" > "$out/$method.log" 2>&1
  fi
  for split in val test; do
    extra=()
    [ "$split" = test ] && extra=(--captions "$data/dataset_rsicd10k.json" --image-root "$data/images")
    if [ -z "${REUSE:-}" ] || [ ! -f "$out/eval-$method-$split/report.json" ]; then
      semiclip eval --model "$out/$method" --classification "$out/classes-$split.csv" --templates remote-sensing \
        "${extra[@]}" --out "$out/eval-$method-$split" > "$out/eval-$method-$split.log" 2>&1
    fi
  done
  rows+=("$(python3 - "$out" "$method" "$steps" <<'PY'
import json, os, sys
from datetime import datetime
out, method, steps = sys.argv[1:]
events = [json.loads(l) for l in open(os.path.join(out, method, "metrics.jsonl"))]
t = lambda e: datetime.fromisoformat(e["time"][:26].rstrip("Z"))
start = next(t(e) for e in events if e["kind"] == "data_split")
end = [t(e) for e in events if e["kind"] == "train"][-1]
val = json.load(open(os.path.join(out, f"eval-{method}-val", "report.json")))
test = json.load(open(os.path.join(out, f"eval-{method}-test", "report.json")))
retrieval = test.get("retrieval") or {}
print(json.dumps({"method": method, "steps": int(steps), "seconds": (end - start).total_seconds(),
                  "val_top1": val["zero_shot"]["top1"], "test_top1": test["zero_shot"]["top1"],
                  "test_retrieval": retrieval}))
PY
)")
done
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
flags=$( (grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo || true) | sort -u | tr '\n' ' ')
printf '{"cpu": "%s", "avx512": "%s", "cores": %s, "rows": [%s]}\n' "$cpu" "$flags" "$(nproc)" \
  "$(IFS=,; echo "${rows[*]}")" > bench/results/real-start-open-top.json
python3 - <<'PY'
import json
r = json.load(open("bench/results/real-start-open-top.json"))
def recall(x):
    m = x["test_retrieval"]
    keys = [k for k in m if k.lower().replace("_", "").startswith("meanrecall")]
    return f"{100 * m[keys[0]]:.1f}" if keys else "–"
lines = [
    "# The packaged start with its top stage and top layer open, through `semiclip train` (RSICD/AID)",
    "",
    "`pretrained: resnet18-imagenet+minilm-l6`; locked but the ResNet's top stage (`lock_image_unlocked_groups: 1`,",
    "the locked stages' batch-norm statistics kept) and MiniLM's top layer (`lock_text_unlocked_layers: 1`); the",
    "projections and the temperature learn. 10% of RSICD's train images paired, batch 64 (S-CLIP 32 + 32,",
    "caption-level pseudo-labels, keyword loss off), AdamW lr 1e-3, wd 0.1, 10 warm-up steps, no augmentation, the",
    "last weights (the fixed protocol of `bench real-start`), seed 0. Zero-shot on AID's 30 classes",
    "(`semiclip eval --templates remote-sensing`), retrieval on the test split (every caption).",
    f"CPU: {r['cpu']}, {r['cores']} cores, AVX-512: {r['avx512'].strip() or 'none'}; TorchSharp fp32.",
    "",
    "| method | steps | val top-1 | test top-1 | test mean recall | training s |",
    "|---|---|---|---|---|---|",
]
for x in r["rows"]:
    lines.append(f"| {x['method']} | {x['steps']} | {100 * x['val_top1']:.1f} | {100 * x['test_top1']:.1f} | "
                 f"{recall(x)} | {x['seconds']:.0f} |")
lines += ["", "Made by:", "", "```bash", f"METHODS=\"{' '.join(x['method'] for x in r['rows'])}\" bench/real-start-open-top.sh 300", "```"]
open("bench/results/real-start-open-top.md", "w").write("\n".join(lines) + "\n")
print("wrote bench/results/real-start-open-top.md")
PY
