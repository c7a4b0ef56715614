# Sourced by benchmarks/h100-check.sh and benchmarks/h100-profile.sh (one device call each): $OUT (logs), $V (the
# bundled CLI), $E (stories260K's files), `stamp` (elapsed seconds and a line into $OUT/progress.txt), the GPU's name
# in $OUT/gpu.txt and its memory every 500 ms in $OUT/gpu-memory.csv until `stop_sampling`, and `make_slice_model`:
# a LLaMA-2-7B-shaped HF directory of SLICE_LAYERS decoder layers (default 1; synthetic bf16) at /tmp/syn with
# stories260K's tokenizer.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
V="node .device/vptq.mjs"; E=.device/examples/stories260K
t0=$(date +%s); stamp() { echo "[$(( $(date +%s) - t0 )) s] $*" | tee -a "$OUT/progress.txt"; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$OUT/gpu.txt"
(nvidia-smi --query-gpu=timestamp,memory.used --format=csv,noheader -lms 500 > "$OUT/gpu-memory.csv" 2>/dev/null &)
stop_sampling() { pkill -f "nvidia-smi --query-gpu=timestamp" || true; }
make_slice_model() {
  rm -rf /tmp/s260 /tmp/syn /tmp/syn-q
  $V convert --from llama2c --to hf -m $E/stories260K.bin -t $E/tok512.bin -o /tmp/s260 > /dev/null
  timeout 60 $V bench synthetic-model /tmp/syn --tokenizer-from /tmp/s260 --layers ${SLICE_LAYERS:-1} > "$OUT/model.txt" 2>&1; stamp "synthetic rc=$?"
}
