#!/usr/bin/env bash
# Every GPU measurement of one session in one device call:
#   bash scripts/device-bundle.sh   # here, after pnpm install
#   device run, carry [".device"]:  source .device/enter.sh; bash benchmarks/h100-session.sh [steps...]
# Steps: smoke, kernels, pairs, decode, attention (default: smoke kernels decode). Logs go to $OUT
# (or ./out/device when unset).
set -uo pipefail
out="${OUT:-out/device}"
mkdir -p "$out"
steps=("${@:-smoke kernels decode}")
kernels() { timeout 150 node .device/vptq.mjs bench kernels --repeats 7 "$@" 2>/dev/null; }
decode() { timeout 200 node .device/vptq.mjs bench decode --tokens 128 "$@" 2>/dev/null; }
for step in ${steps[*]}; do
  case "$step" in
    smoke) node .device/smoke.mjs 2>&1 | tail -3 | tee "$out/smoke.log" ;;
    kernels) timeout 240 node .device/vptq.mjs bench kernels 2>"$out/kernels.err" | tee "$out/kernels.log" ;;
    pairs)
      {
        for run in 1 2; do
          echo "== vector-rows per workgroup by default (2 for 12-bit fields, else 1), run $run"
          kernels --configs v8-k65536 v6-k4096 --shapes 4096x11008 4096x4096 11008x4096
          echo "== two vector-rows per workgroup, run $run"
          kernels --configs v8-k65536 v6-k4096 --shapes 4096x11008 4096x4096 11008x4096 --rows-per-workgroup 2
        done
        for q in v8-k65536 v6-k4096; do
          echo "== decode $q, two vector-rows per workgroup (VPTQ only)"
          decode --quantization "$q" --rows-per-workgroup 2 --vptq-only
        done
      } | tee "$out/pairs.log" ;;
    decode)
      {
        for q in v8-k65536 v6-k4096; do
          echo "== decode $q"
          decode --quantization "$q" --breakdown
        done
      } | tee "$out/decode.log" ;;
    attention)
      # Split-K attention: at the 137-row cache of --tokens 128 the plan keeps 1 split (no combine), try 2; at
      # 4096 rows it plans 16, try 1 (one workgroup per head).
      {
        for run in "0 2" "3968 1"; do
          set -- $run
          echo "== decode v6-k4096 from position $1, planned attention splits"
          decode --quantization v6-k4096 --breakdown --start-position "$1"
          echo "== decode v6-k4096 from position $1, attention splits $2"
          decode --quantization v6-k4096 --breakdown --start-position "$1" --attention-splits "$2"
        done
      } | tee "$out/attention.log" ;;
    *) echo "unknown step $step" >&2 ;;
  esac
done
