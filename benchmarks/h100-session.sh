#!/usr/bin/env bash
# Every GPU measurement of one session in one device call (see DEVELOPERS notes in BENCHMARKS.md):
#   bash scripts/device-bundle.sh   # here, after pnpm install
#   device run, carry [".device"]:  source .device/enter.sh; bash benchmarks/h100-session.sh [steps...]
# Steps: smoke, kernels, sweep, decode (default: all). Logs go to $OUT (or ./out/device when unset).
set -uo pipefail
out="${OUT:-out/device}"
mkdir -p "$out"
vptq() { node .device/vptq.mjs "$@"; }
steps=("${@:-smoke kernels sweep decode}")
for step in ${steps[*]}; do
  case "$step" in
    smoke) node .device/smoke.mjs 2>&1 | tail -3 | tee "$out/smoke.log" ;;
    kernels) timeout 240 node .device/vptq.mjs bench kernels 2>"$out/kernels.err" | tee "$out/kernels.log" ;;
    sweep)
      for wg in 64 128 256; do
        echo "== workgroup size $wg"
        timeout 120 node .device/vptq.mjs bench kernels --configs v8-k65536 v6-k4096 --shapes 4096x11008 4096x4096 --workgroup-size "$wg" --repeats 7 2>/dev/null
      done | tee "$out/sweep.log"
      for unroll in 1 2 8; do
        echo "== unroll $unroll"
        timeout 120 node .device/vptq.mjs bench kernels --configs v8-k65536 --shapes 4096x11008 --unroll "$unroll" --repeats 7 2>/dev/null
      done | tee -a "$out/sweep.log" ;;
    decode)
      for q in v8-k65536 v6-k4096; do
        echo "== decode $q"
        timeout 200 node .device/vptq.mjs bench decode --tokens 128 --breakdown --quantization "$q" 2>/dev/null
      done | tee "$out/decode.log" ;;
    *) echo "unknown step $step" >&2 ;;
  esac
done
