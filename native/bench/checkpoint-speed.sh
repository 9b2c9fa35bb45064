#!/usr/bin/env bash
# Speed of a Hugging Face checkpoint against the synthetic model of the same dims (issue 19: ±3 %),
# with a stage and kernel breakdown of both. Run on the GPU machine from the repository root after
# `npm run build`: it saves BertModel(BertConfig()) with transformers when CKPT has no config.json,
# runs BERT-base b8 s128 fused fp32/fp16/bf16 on both models with --tune (so neither side runs a
# heuristic GEMM the other has tuned) and --profile-kernels, then prints stage-compare.mjs's table.
#   bash native/bench/checkpoint-speed.sh [OUT_DIR]      (CKPT=/path/to/hf/folder to use another model)
set -euo pipefail
OUT=${1:-/tmp/ftb-checkpoint-speed}
CKPT=${CKPT:-/tmp/ckpt/bert-base}
if [ ! -f "$CKPT/config.json" ]; then
  python3 -c 'import sys; from transformers import BertConfig, BertModel; BertModel(BertConfig()).save_pretrained(sys.argv[1])' "$CKPT"
fi
COMMON=(--path encoder --variant fused --precision fp32,fp16,bf16 --batch 8 --seq 128 --tune --profile-kernels --out "$OUT" --force)
node dist/src/cli/main.js bench "${COMMON[@]}" --layers 12 --heads 12 --head-size 64 --inter-size 3072 --run-id synthetic
node dist/src/cli/main.js bench "${COMMON[@]}" --model "$CKPT" --run-id checkpoint
node native/bench/stage-compare.mjs "$OUT/synthetic.json" "$OUT/checkpoint.json"
