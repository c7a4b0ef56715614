#!/usr/bin/env bash
# The GPU quantizer's benchmarks of issue 9 on the device machine, logs under $OUT: one layer at the issue's two
# sizes (bench quantize-layer), a slice of the LLaMA-2-7B-shaped model (bench synthetic-model + bench quantize),
# GPU quantization of stories260K and BabyLlama at both parity settings (evaluate the outputs on the CPU here),
# the kernels one by one. Prepare with `bash scripts/device-bundle.sh`; run with carry [".device"]:
#   source .device/enter.sh; bash benchmarks/h100-quantize.sh
# SMALL=1 runs shrunk versions (a lavapipe check). LAYERS sets the slice's depth (default 2); LAYER_FLAGS (both
# layer cases), V8_FLAGS, SLICE_FLAGS add flags; REFIT lists refit variants of the v6 case; T_* are the timeouts;
# PARITY=0 skips the parity runs, SLICE=0 the model slice, KERNELS=1 adds the kernels one by one.
set -u
LAYER_FLAGS=${LAYER_FLAGS:-}; V8_FLAGS=${V8_FLAGS:-}; SLICE_FLAGS=${SLICE_FLAGS:-}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
V="node .device/vptq.mjs"
E=.device/examples/stories260K
if [ "${SMALL:-0}" = 1 ]; then DIV="--divide 16"; LAYERS=2; SLICE_FLAGS="$SLICE_FLAGS --centroids 256 --kmeans-iterations 10"; SHAPE="--hidden 256 --intermediate 688 --heads 8 --vocab 1000"; CPU=""; TOK=4096; else DIV=""; LAYERS=${LAYERS:-2}; SHAPE=""; CPU=""; TOK=65536; fi
t0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - t0 )) s] $*" | tee -a "$OUT/progress.txt"; }
stamp start
(nvidia-smi --query-gpu=timestamp,memory.used --format=csv,noheader -lms 500 > "$OUT/gpu-memory.csv" 2>/dev/null &)
# One layer at the issue's sizes: cold (shader compilation) then warm, with every refinement round's proxy error in
# the JSON; the v8 case; at the end the refit variants (REFIT="<name>:<flags>;…", each warm).
timeout ${T_V6:-90} $V bench quantize-layer $DIV --only v6 --warm $LAYER_FLAGS --cpu-rows 256 --cpu-iterations 10 --cpu-refine 2 --json > "$OUT/layer.txt" 2>&1; stamp "layer v6 rc=$?"
timeout ${T_V8:-150} $V bench quantize-layer $DIV --only v8 $LAYER_FLAGS $V8_FLAGS --cpu-rows 256 --cpu-iterations 1 --cpu-refine 0 --json > "$OUT/layer-v8.txt" 2>&1; stamp "layer v8 rc=$?"
if [ "${PARITY:-1}" = 1 ]; then
mkdir -p /tmp/par
for m in "stories260K $E/stories260K.bin $E/tok512.bin" "babyllama .device/examples/babyllama/model5000.bin .device/examples/babyllama/tok105.bin"; do
  set -- $m
  for s in "v8-k256-r256 --vector-len 8 --centroids 256 --res-centroids 256" "v4-k256-r16 --vector-len 4 --centroids 256 --res-centroids 16"; do
    set -- $m; name=$1; model=$2; tok=$3; set -- $s
    timeout ${T_PARITY:-40} $V quantize -m $model -t $tok --calib $E/calibration.txt -o /tmp/par/$name-$1 --device gpu ${@:2} --json > "/tmp/par/$name-$1.json" 2>"/tmp/par/$name-$1.err"; stamp "parity $name $1 rc=$?"
  done
done
tar czf "$OUT/parity.tgz" -C /tmp par
fi
if [ "${SLICE:-1}" = 1 ]; then
rm -rf /tmp/s260 /tmp/syn /tmp/syn-q
$V convert --from llama2c --to hf -m $E/stories260K.bin -t $E/tok512.bin -o /tmp/s260 > /dev/null
timeout 35 $V bench synthetic-model /tmp/syn --tokenizer-from /tmp/s260 --layers $LAYERS $SHAPE > "$OUT/model.txt" 2>&1; stamp "synthetic rc=$?"
timeout ${T_SLICE:-100} $V bench quantize -m /tmp/syn --calib $E/calibration.txt --repeats 1 --device gpu --vector-len 6 --centroids 4096 --res-centroids 0 --calib-tokens $TOK $SLICE_FLAGS --keep /tmp/syn-q --json >> "$OUT/model.txt" 2>&1; stamp "slice rc=$?"
timeout 10 $V inspect /tmp/syn-q > "$OUT/inspect.txt" 2>&1; stamp "inspect rc=$?"
fi
# The refit variants last: they only compare settings.
IFS=';' read -ra variants <<< "${REFIT:-}"
for variant in "${variants[@]}"; do
  [ -z "$variant" ] && continue
  timeout ${T_V6:-90} $V bench quantize-layer $DIV --only v6 --warm $LAYER_FLAGS ${variant#*:} --cpu-rows 256 --cpu-iterations 1 --cpu-refine 0 --json > "$OUT/layer-${variant%%:*}.txt" 2>&1; stamp "layer v6 ${variant%%:*} rc=$?"
done
if [ "${KERNELS:-0}" = 1 ]; then timeout 40 node .device/quantize-kernels.mjs $DIV > "$OUT/kernels.jsonl" 2> "$OUT/kernels.err"; stamp "kernels rc=$?"; fi
pkill -f "nvidia-smi --query-gpu=timestamp" || true
