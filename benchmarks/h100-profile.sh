#!/usr/bin/env bash
# Where a LLaMA-2-7B-shaped layer's time goes, in one device call (about 7 minutes on an H100), logs under $OUT, in
# order of priority (a call cut short keeps the first): the quantizer's kernels one by one (k-means assignment and
# reduction alone beside a whole step, the Hessian accumulator, column-loop passes, the inverse
# Cholesky factor); a one-layer slice (synthetic bf16, 65,536 calibration tokens, v6-k4096) with its per-projection
# breakdown (k-means, column loops, refinement, iterations); the issue's two layer targets; the refit's solvers at the
# layer's shapes (benchmarks/refit-profile.mjs); and, on a card other than an H100 (whose earlier figures are the
# baseline), a baseline build of the kernel benchmark bundled as .device/baseline-quantize-kernels.mjs.
# With .device/baseline-vptq.mjs (an earlier commit's CLI, bundled by hand as BENCHMARKS.md shows) the slice runs
# again with it (BASELINE=0 skips it; BASELINE_FLAGS replace SLICE_FLAGS for it). SLICE_LAYERS (default 1) decoder
# layers make the slice (with 2 or more, the next layer's calibration overlaps this one's quantization). KERNELS=0, LAYER=0 and REFIT=0 skip those parts; KERNEL_ARGS are passed to the
# kernel benchmark (e.g. `--only pass --pass-engines ...`, see benchmarks/quantize-kernels.mjs), KERNELS_TIMEOUT bounds
# it (default 120 s); SLICE_TIMEOUT (default
# 150 s) bounds the slice; PROFILE=1 takes a V8 CPU profile of the slice's process and returns its summary in
# $OUT/profile.txt (where the host's share of a layer goes) and the profile gzipped.
# Prepare with `bash scripts/device-bundle.sh`; run with carry [".device"]:
#   source .device/enter.sh; bash benchmarks/h100-profile.sh
source "$(dirname "$0")/device-call.sh"
if [ "${KERNELS:-1}" = 1 ]; then timeout ${KERNELS_TIMEOUT:-120} node .device/quantize-kernels.mjs ${KERNEL_ARGS:-} > "$OUT/kernels.jsonl" 2>&1; stamp "kernels rc=$?"; fi
make_slice_model
prof=; if [ "${PROFILE:-0}" = 1 ]; then prof="--cpu-prof --cpu-prof-dir=/tmp/prof"; fi
timeout ${SLICE_TIMEOUT:-150} node $prof .device/vptq.mjs bench quantize -m /tmp/syn --calib $E/calibration.txt --repeats 1 --device gpu --vector-len 6 --centroids 4096 --res-centroids 0 --calib-tokens 65536 ${SLICE_FLAGS:-} --json >> "$OUT/model.txt" 2>&1; stamp "slice rc=$?"
if [ "${PROFILE:-0}" = 1 ]; then
  # The raw profile is tens of MB: its summary comes back, the profile gzipped where it fits.
  for f in /tmp/prof/*.cpuprofile; do node benchmarks/summarize-cpu-profile.mjs "$f" 60 > "$OUT/profile.txt"; gzip -c "$f" > "$OUT/slice.cpuprofile.gz"; done
fi
# The same slice with the CLI of an earlier commit bundled as .device/baseline-vptq.mjs (same machine, same call).
if [ -f .device/baseline-vptq.mjs ] && [ "${BASELINE:-1}" = 1 ]; then
  timeout ${SLICE_TIMEOUT:-150} node .device/baseline-vptq.mjs bench quantize -m /tmp/syn --calib $E/calibration.txt --repeats 1 --device gpu --vector-len 6 --centroids 4096 --res-centroids 0 --calib-tokens 65536 ${BASELINE_FLAGS:-${SLICE_FLAGS:-}} --json > "$OUT/model-baseline.txt" 2>&1; stamp "baseline slice rc=$?"
fi
if [ "${LAYER:-1}" = 1 ]; then
timeout 45 $V bench quantize-layer --only v6 --warm --cpu-rows 256 --cpu-iterations 1 --cpu-refine 0 --json > "$OUT/layer-v6.txt" 2>&1; stamp "layer v6 rc=$?"
timeout 75 $V bench quantize-layer --only v8 --cpu-rows 256 --cpu-iterations 1 --cpu-refine 0 --json > "$OUT/layer-v8.txt" 2>&1; stamp "layer v8 rc=$?"
fi
if [ "${REFIT:-1}" = 1 ]; then timeout 100 node .device/refit-profile.mjs > "$OUT/refit.jsonl" 2>&1; stamp "refit rc=$?"; fi
if [ -f .device/baseline-quantize-kernels.mjs ] && ! grep -q H100 "$OUT/gpu.txt"; then
  timeout 90 node .device/baseline-quantize-kernels.mjs > "$OUT/kernels-baseline.jsonl" 2>&1; stamp "baseline kernels rc=$?"
fi
stop_sampling
