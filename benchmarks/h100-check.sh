#!/usr/bin/env bash
# A short check of issues 9 and 10 in one device call (about 4 minutes on an H100), logs under $OUT: the 4096² v6
# layer (cold and warm), the v8-k256-r256 decode beside fp16, a streaming VQ-GEMV plan sweep at the MLP shapes, a
# one-layer LLaMA-2-7B-shaped slice (synthetic bf16, 65,536 calibration tokens), the 14336×4096 v8-k65536-r256 layer
# and the 4096² layer with the refit at 25 CG iterations; in order of priority, so a call cut short keeps the first.
# Prepare with `bash scripts/device-bundle.sh`; run with carry [".device"]:
#   source .device/enter.sh; bash benchmarks/h100-check.sh
source "$(dirname "$0")/device-call.sh"
timeout 70 $V bench quantize-layer --only v6 --warm --cpu-rows 256 --cpu-iterations 1 --cpu-refine 0 --json > "$OUT/layer-v6.txt" 2>&1; stamp "layer v6 rc=$?"
timeout 60 $V bench decode --quantization v8-k256-r256 > "$OUT/decode-v8-k256-r256.txt" 2>&1; stamp "decode v8 rc=$?"
timeout 60 $V bench kernels --shapes 4096x11008 11008x4096 --repeats 3 --kernels streaming --configs v8-k256-r256 --stream-plans r1,s1,w128,u4 r2,s1,w128,u2 r2,s4,w128,u2 r1,s4,w128,u4 > "$OUT/stream-v8-k256-r256.txt" 2>&1; stamp "stream v8 rc=$?"
make_slice_model
timeout 150 $V bench quantize -m /tmp/syn --calib $E/calibration.txt --repeats 1 --device gpu --vector-len 6 --centroids 4096 --res-centroids 0 --calib-tokens 65536 --keep /tmp/syn-q --json >> "$OUT/model.txt" 2>&1; stamp "slice rc=$?"
timeout 110 $V bench quantize-layer --only v8 --cpu-rows 256 --cpu-iterations 1 --cpu-refine 0 --json > "$OUT/layer-v8.txt" 2>&1; stamp "layer v8 rc=$?"
timeout 45 $V bench quantize-layer --only v6 --warm --refit-solver cg --refit-iterations 25 --cpu-rows 256 --cpu-iterations 1 --cpu-refine 0 --json > "$OUT/layer-v6-cg25.txt" 2>&1; stamp "layer v6 cg25 rc=$?"
stop_sampling
