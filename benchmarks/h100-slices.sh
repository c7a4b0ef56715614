#!/usr/bin/env bash
# Whole-model slices of a LLaMA-2-7B-shaped model on one device call (issue 9), logs under $OUT: the quantizer's
# k-means runs with and without bounds (KERNELS=0 skips them), a slice of V6_LAYERS decoder layers at v6-k4096
# (default 6; with two layers in flight the per-layer cost is (wall(n) − wall(m)) / (n − m)), then one of V8_LAYERS
# layers at v8-k65536-r256 (default 1; 0 skips it). 65,536
# calibration tokens, synthetic bf16 weights written to the device's disk by `bench synthetic-model`.
# Prepare with `bash scripts/device-bundle.sh`; run with carry [".device"]:
#   source .device/enter.sh; bash benchmarks/h100-slices.sh
source "$(dirname "$0")/device-call.sh"
if [ "${KERNELS:-1}" = 1 ]; then timeout ${KERNELS_TIMEOUT:-120} node .device/quantize-kernels.mjs --only kmeans-run ${KERNEL_ARGS:-} > "$OUT/kernels.jsonl" 2>&1; stamp "kernels rc=$?"; fi
slice() { # name layers timeout flags...
  local name=$1 layers=$2 limit=$3; shift 3
  SLICE_LAYERS=$layers make_slice_model; mv "$OUT/model.txt" "$OUT/$name.txt"
  timeout "$limit" $V bench quantize -m /tmp/syn --calib $E/calibration.txt --repeats 1 --device gpu --calib-tokens 65536 "$@" --json >> "$OUT/$name.txt" 2>&1
  stamp "$name rc=$?"
}
for n in ${V6_LAYERS:-6}; do if [ "$n" -gt 0 ]; then slice "slice-v6-$n" "$n" ${V6_TIMEOUT:-300} --vector-len 6 --centroids 4096 --res-centroids 0; fi; done
if [ "${V8_LAYERS:-1}" -gt 0 ]; then slice "slice-v8" "${V8_LAYERS:-1}" ${V8_TIMEOUT:-200} --vector-len 8 --centroids 65536 --res-centroids 256; fi
stop_sampling
