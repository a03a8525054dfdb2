#!/usr/bin/env bash
# Exports two models (OpenAI's and a learned vocabulary) in Hugging Face layout and has transformers.js check them.
# Needs node 20 and the npm registry (ONNXRUNTIME_NODE_INSTALL_CUDA=skip keeps onnxruntime-node from fetching CUDA
# binaries from GitHub). Writes bench/results/transformersjs.md.
set -euo pipefail
cd "$(dirname "$0")"
ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install --no-audit --no-fund --silent
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dotnet run --project ../SemiClip.Bench -c Release -- export-check --out "$work/exports"
{
  echo "# transformers.js loads SemiClip's Hugging Face export"
  echo
  echo "\`bench/js/run.sh\` on $(date -u +%Y-%m-%d): @huggingface/transformers $(node -p "require('./node_modules/@huggingface/transformers/package.json').version"), node $(node --version)."
  echo
  echo '```'
  node check.mjs "$work/exports"
  echo '```'
} > ../results/transformersjs.md
cat ../results/transformersjs.md
