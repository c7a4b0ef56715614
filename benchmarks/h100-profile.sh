#!/usr/bin/env bash
# Where a LLaMA-2-7B-shaped layer's time goes, in one device call (about 5 minutes on an H100), logs under $OUT:
# the quantizer's kernels one by one (k-means assignment and reduction alone beside a whole step, the Hessian
# accumulator, column-loop passes, the inverse Cholesky factor), the refit's solvers at the layer's shapes
# (benchmarks/refit-profile.mjs), then (unless SLICE=0) a one-layer slice (synthetic bf16, 65,536
# calibration tokens, v6-k4096) with its per-projection breakdown (k-means, column loops, refinement, iterations).
# Prepare with `bash scripts/device-bundle.sh`; run with carry [".device"]:
#   source .device/enter.sh; bash benchmarks/h100-profile.sh
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
V="node .device/vptq.mjs"; E=.device/examples/stories260K
t0=$(date +%s); stamp() { echo "[$(( $(date +%s) - t0 )) s] $*" | tee -a "$OUT/progress.txt"; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$OUT/gpu.txt"
timeout 150 node .device/quantize-kernels.mjs > "$OUT/kernels.jsonl" 2>&1; stamp "kernels rc=$?"
# A baseline build of the same benchmark (e.g. the commit before a kernel change), when one was bundled there.
if [ -f .device/baseline-quantize-kernels.mjs ]; then
  timeout 150 node .device/baseline-quantize-kernels.mjs > "$OUT/kernels-baseline.jsonl" 2>&1; stamp "baseline kernels rc=$?"
fi
timeout 150 node .device/refit-profile.mjs > "$OUT/refit.jsonl" 2>&1; stamp "refit rc=$?"
[ "${SLICE:-1}" = 1 ] || exit 0
rm -rf /tmp/s260 /tmp/syn /tmp/syn-q
$V convert --from llama2c --to hf -m $E/stories260K.bin -t $E/tok512.bin -o /tmp/s260 > /dev/null
timeout 35 $V bench synthetic-model /tmp/syn --tokenizer-from /tmp/s260 --layers 1 > "$OUT/model.txt" 2>&1; stamp "synthetic rc=$?"
timeout 150 $V bench quantize -m /tmp/syn --calib $E/calibration.txt --repeats 1 --device gpu --vector-len 6 --centroids 4096 --res-centroids 0 --calib-tokens 65536 ${SLICE_FLAGS:-} --json >> "$OUT/model.txt" 2>&1; stamp "slice rc=$?"
