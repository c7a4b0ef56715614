#!/usr/bin/env bash
# Distributed quantization on a multi-GPU machine (issue 12): a LLaMA-2-7B-shaped model (`vptq bench synthetic-model`,
# LAYERS decoder layers) quantized by `vptq quantize --device gpu` in one process, then by `vptq quantize --queue`
# with 1, 2 and 4 `vptq worker` processes (as many as there are GPUs), one per GPU; the times, and whether every
# output has the single-process bytes (same kind of card). NOT RUN YET: no multi-GPU kind has been lent.
#
# Here (the CPU machine), once:   bash benchmarks/multi-gpu-quantize.sh prepare
#   = scripts/device-bundle.sh (Node, Dawn, the bundled CLI in .device/) plus Debian's redis-server with every
#     library it loads and its own dynamic loader in .device/redis/ (the device machine reaches no package registry,
#     and its glibc may be older than Debian 12's).
# On the device machine, with carry [".device"]:   source .device/enter.sh; bash benchmarks/multi-gpu-quantize.sh
#   Logs under $OUT: multi-gpu.txt (the table), one log per process, nvidia-smi memory samples.
#
# Pinning: dawn.node selects adapters by name only, so `--device gpu:N` cannot reach the second of two identical
# GPUs (docs/gpu-selection.md). PIN=dri-prime (default) starts worker i with DRI_PRIME=pci-<bus id of GPU i>
# MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1 and --device gpu (Mesa's device-select layer must be installed: the
# script says when it is not); PIN=index uses --device gpu:i (works only with differently named GPUs).
# Knobs: LAYERS (default 4), TOK (calibration tokens, default 16384), WORKERS (default "1 2 4"), FLAGS (quantize
# settings, default v6-k4096 with 4 refinement rounds), T_RUN (seconds per run, default 1500).
set -u
cd "$(dirname "$0")/.."

if [ "${1:-}" = prepare ]; then
  set -e
  bash scripts/device-bundle.sh
  command -v redis-server >/dev/null || apt-get install -y --no-install-recommends redis-server
  mkdir -p .device/redis
  bin=$(readlink -f "$(command -v redis-server)")
  cp "$bin" .device/redis/redis-server
  ldd "$bin" | awk '/=> \//{print $3} /^[ \t]*\/lib/{print $1}' | while read -r lib; do cp -L "$lib" .device/redis/; done
  # Checked here: the copy starts through its own loader.
  .device/redis/ld-linux-x86-64.so.2 --library-path .device/redis .device/redis/redis-server --version
  du -sh .device
  exit 0
fi

OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
LAYERS=${LAYERS:-4}; TOK=${TOK:-16384}; WORKERS=${WORKERS:-"1 2 4"}; T_RUN=${T_RUN:-1500}; PIN=${PIN:-dri-prime}
FLAGS=${FLAGS:-"--vector-len 6 --centroids 4096 --res-centroids 0 --refine-iterations 4"}
V="node .device/vptq.mjs"
E=.device/examples/stories260K
PORT=6399
QUEUE=redis://127.0.0.1:$PORT
t0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - t0 )) s] $*" | tee -a "$OUT/progress.txt"; }

gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
mapfile -t bus < <(nvidia-smi --query-gpu=pci.bus_id --format=csv,noheader 2>/dev/null)
stamp "gpus=$gpus pin=$PIN layers=$LAYERS tokens=$TOK flags=$FLAGS"
if [ "$PIN" = dri-prime ] && [ ! -f /usr/share/vulkan/implicit_layer.d/VkLayer_MESA_device_select.json ] && [ ! -f /etc/vulkan/implicit_layer.d/VkLayer_MESA_device_select.json ]; then
  stamp "warning: Mesa's device-select layer is not installed: DRI_PRIME will not pin workers (PIN=index, or containers per GPU)"
fi
(nvidia-smi --query-gpu=timestamp,index,memory.used,utilization.gpu --format=csv,noheader -lms 1000 > "$OUT/gpu.csv" 2>/dev/null &)

.device/redis/ld-linux-x86-64.so.2 --library-path .device/redis .device/redis/redis-server --port $PORT --bind 127.0.0.1 --save '' --appendonly no > "$OUT/redis.log" 2>&1 &
redis=$!
trap 'kill $redis 2>/dev/null; jobs -p | xargs -r kill 2>/dev/null' EXIT
sleep 1

rm -rf /tmp/mg && mkdir -p /tmp/mg
$V convert --from llama2c --to hf -m $E/stories260K.bin -t $E/tok512.bin -o /tmp/mg/s260 > /dev/null
timeout 300 $V bench synthetic-model /tmp/mg/syn --tokenizer-from /tmp/mg/s260 --layers "$LAYERS" > "$OUT/model.txt" 2>&1; stamp "synthetic model rc=$?"

run_quantize() { # name, extra flags
  local start=$(date +%s.%N)
  timeout "$T_RUN" $V quantize -m /tmp/mg/syn --calib $E/calibration.txt -o "/tmp/mg/$1" --device gpu --calib-tokens "$TOK" $FLAGS "${@:2}" > "$OUT/$1.log" 2>&1
  local rc=$?
  echo "$rc $(echo "$(date +%s.%N) - $start" | bc)"
}

read -r rc single < <(run_quantize single)
stamp "single process rc=$rc ${single} s"
printf '| workers | seconds | speed-up vs one process | same bytes as one process |\n| --- | --- | --- | --- |\n| single process | %.1f | 1.00 | – |\n' "$single" > "$OUT/multi-gpu.txt"

for w in $WORKERS; do
  if [ "$w" -gt "$gpus" ]; then stamp "skip $w workers: $gpus GPUs"; continue; fi
  pids=()
  for ((i = 0; i < w; i++)); do
    if [ "$PIN" = dri-prime ] && [ -n "${bus[$i]:-}" ]; then
      # nvidia-smi's 00000000:41:00.0 as the device-select layer's pci-0000_41_00_0
      b=${bus[$i]}; tag=$(printf 'pci-%04x_%s_%s_%s' "0x${b%%:*}" "$(echo "$b" | cut -d: -f2)" "$(echo "$b" | cut -d: -f3 | cut -d. -f1)" "${b##*.}")
      DRI_PRIME=$tag MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1 $V worker --queue $QUEUE --device gpu > "$OUT/worker-$w-$i.log" 2>&1 &
    else
      $V worker --queue $QUEUE --device "gpu:$i" > "$OUT/worker-$w-$i.log" 2>&1 &
    fi
    pids+=($!)
  done
  sleep 5
  grep -h "taking jobs" "$OUT"/worker-$w-*.log | tee -a "$OUT/progress.txt"
  read -r rc seconds < <(run_quantize "workers-$w" --queue $QUEUE)
  kill -TERM "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null
  same=no; cmp -s /tmp/mg/single/model.safetensors "/tmp/mg/workers-$w/model.safetensors" && cmp -s /tmp/mg/single/config.json "/tmp/mg/workers-$w/config.json" && same=yes
  stamp "$w workers rc=$rc ${seconds} s, same bytes: $same"
  printf '| %d | %.1f | %.2f | %s |\n' "$w" "$seconds" "$(echo "$single / $seconds" | bc -l)" "$same" >> "$OUT/multi-gpu.txt"
done
cat "$OUT/multi-gpu.txt"
