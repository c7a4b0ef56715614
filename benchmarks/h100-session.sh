#!/usr/bin/env bash
# Every GPU measurement of one session in one device call:
#   bash scripts/device-bundle.sh   # here, after pnpm install
#   device run, carry [".device"]:  source .device/enter.sh; bash benchmarks/h100-session.sh [steps...]
# Steps: smoke, kernels, sweep, decode (default: all). Logs go to $OUT (or ./out/device when unset).
set -uo pipefail
out="${OUT:-out/device}"
mkdir -p "$out"
steps=("${@:-smoke kernels sweep decode}")
kernels() { timeout 150 node .device/vptq.mjs bench kernels --repeats 7 "$@" 2>/dev/null; }
for step in ${steps[*]}; do
  case "$step" in
    smoke) node .device/smoke.mjs 2>&1 | tail -3 | tee "$out/smoke.log" ;;
    kernels) timeout 240 node .device/vptq.mjs bench kernels 2>"$out/kernels.err" | tee "$out/kernels.log" ;;
    sweep)
      {
        echo "== default: codebook gathers through L1"
        kernels --configs v6-k4096 v8-k65536 --shapes 4096x11008 4096x4096
        for wg in 128 256 512; do
          for rows in 1 2; do
            echo "== codebook in workgroup memory: workgroup size $wg, $rows rows per subgroup"
            kernels --configs v6-k4096 --shapes 4096x11008 4096x4096 --shared-codebook --workgroup-size "$wg" --rows-per-tile $((wg / 32 * rows))
          done
        done
        for target in 256 1024; do
          echo "== codebook in workgroup memory: target workgroups $target (wg 256)"
          kernels --configs v6-k4096 --shapes 4096x11008 4096x4096 --shared-codebook --workgroup-size 256 --target-workgroups "$target"
        done
      } | tee "$out/sweep.log" ;;
    decode)
      for q in v6-k4096 v8-k65536; do
        echo "== decode $q"
        timeout 200 node .device/vptq.mjs bench decode --tokens 128 --breakdown --quantization "$q" 2>/dev/null
      done | tee "$out/decode.log" ;;
    *) echo "unknown step $step" >&2 ;;
  esac
done
