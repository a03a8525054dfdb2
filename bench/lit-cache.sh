#!/usr/bin/env bash
# The packaged start trained LiT-style through `semiclip train` with the locked towers' features kept
# (cache_locked_features) against the same run recomputing them, on RSICD/AID (../shared/data/rsicd10k).
# Writes bench/results/lit-cache.{json,md}. Usage: bench/lit-cache.sh [STEPS] (default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-300}
data=../shared/data/rsicd10k
out=runs/lit-cache
mkdir -p "$out"
dotnet build -c Release src/SemiClip.Cli >/dev/null
semiclip() { dotnet src/SemiClip.Cli/bin/Release/net10.0/SemiClip.Cli.dll "$@"; }
# Class CSVs of the val and test splits (path,label; AID's folder names as words).
python3 - "$data" "$out" <<'PY'
import json, os, re, sys
data, out = sys.argv[1], sys.argv[2]
d = json.load(open(os.path.join(data, "dataset_rsicd10k.json")))
for split in ["val", "test"]:
    with open(os.path.join(out, f"classes-{split}.csv"), "w") as f:
        f.write("path,label\n")
        for im in d["images"]:
            if im["split"] == split:
                label = re.sub(r"(?<!^)(?=[A-Z])", " ", im["label"]).lower()
                f.write(f"{os.path.abspath(os.path.join(data, 'images', im['filename']))},{label}\n")
PY
common=(--pretrained resnet18-imagenet+minilm-l6 --data "$data/dataset_rsicd10k.json" --image-root "$data/images"
  --label-ratio 0.1 --batch-size 64 --runs-dir "$out" --set lock_image=true --set lock_image_freeze_bn_stats=true
  --set lock_text=true --set lr=1e-3 --set weight_decay=0.1 --set warmup_steps=10 --set context_length=64
  --set loss.keyword_weight=0 --set seed=0 --set checkpoint_every=1000 --set "aug_scale=[1, 1]"
  --set "aug_ratio=[1, 1]" --overwrite)
rows=()
run() { # name method steps cache
  local t0 t1
  t0=$(date +%s.%N)
  semiclip train "${common[@]}" --run-name "$1" --method "$2" --steps "$3" --set "cache_locked_features=$4" \
    > "$out/$1.log" 2>&1
  t1=$(date +%s.%N)
  local sha
  sha=$(sha256sum "$out/$1/model.safetensors" | cut -c1-16)
  local evals=""
  if [ "$5" = eval ]; then
    for split in val test; do
      semiclip eval --model "$out/$1" --classification "$out/classes-$split.csv" --templates remote-sensing \
        --out "$out/eval-$1-$split" > "$out/eval-$1-$split.log" 2>&1
      evals+="$(python3 -c "import json; r=json.load(open('$out/eval-$1-$split/report.json')); \
z=r.get('zero_shot') or r.get('ZeroShot'); \
print(json.dumps({'split': '$split', **{k.lower(): v for k, v in z.items() if k.lower() in ('top1', 'top5')}}))"),"
    done
  fi
  rows+=("{\"run\": \"$1\", \"method\": \"$2\", \"steps\": $3, \"cache\": $4, \"seconds\": $(echo "$t1 - $t0" | bc), \
\"weights_sha256_16\": \"$sha\", \"eval\": [${evals%,}]}")
}
run uncached-30 clip 30 false no
run cached-30 clip 30 true no
run clip clip "$steps" true eval
run sclip sclip "$steps" true eval
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
flags=$(grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' ')
printf '{"cpu": "%s", "avx512": "%s", "cores": %s, "rows": [%s]}\n' "$cpu" "$flags" "$(nproc)" \
  "$(IFS=,; echo "${rows[*]}")" > bench/results/lit-cache.json
echo "wrote bench/results/lit-cache.json"
