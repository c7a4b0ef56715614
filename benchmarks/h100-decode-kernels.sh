#!/usr/bin/env bash
# Issue 10 on the device machine, logs under $OUT (about 3–4 minutes on an H100):
#  1. the gather probe: random 4/8/16-byte lookups from tables of 256–65536 entries in a storage buffer vs
#     workgroup memory (plain and replicated), 1 and 4 lookups per streamed 16-bit index (gather-probe.txt);
#  2. bench kernels at 4096², 11008×4096, 4096×11008: copy, the f16 GEMV (planned default, the previous
#     configuration, and GEMV_VARIANTS), the streaming and the on-chip VQ-GEMV for v8-k256-r256, v6-k4096,
#     v8-k65536 and v4-k256-r16 (kernels.txt); with REPEAT=1 a second identical run to show the noise
#     (kernels-repeat.txt);
#  3. on-chip sweeps at 4096×11008 and 11008×4096: persistent workgroups, replicas, workgroup size, splits
#     (onchip-*.txt; SWEEPS=0 skips them);
#  3b. with STREAM_SWEEPS=1 (default off), streaming VQ-GEMV plan sweeps at 4096×11008 and 11008×4096 for
#     v8-k256-r256 and v6-k4096: the planned row, the pre-fix one-split plan and 5 alternatives (bench kernels
#     --stream-plans; r rows per workgroup, s splits, w workgroup size, u unroll, t target workgroups), one process
#     per config so the plans of a config share one warm run (stream-<config>.txt; its plan column is the grid
#     each row ran; T_STREAM the timeout of each);
#  3c. with LANES_SWEEPS=1 (default off), lanes VQ-GEMV plan sweeps at 4096×11008 and 11008×4096 for
#     v8-k256-r256, v6-k4096 and v8-k65536 beside the planned streaming and lanes rows (bench kernels --lanes-plans;
#     f fields per lane, w workgroup size; lanes-<config>.txt; LANES_PLANS overrides the plans);
#  4. with DECODE=1, bench decode v8-k256-r256 (every projection on the on-chip kernel) and v6-k4096 (o and down
#     on-chip; the stacked q/k/v and gate/up codebooks do not fit 48 KiB together), each with the planner's choice
#     (beside fp16; the streaming kernel, the default), with --kernel auto (on-chip where it applies) and with --kernel
#     lanes (the lanes kernel on every projection); v8-k256-r256 also with one column split (no reduction dispatch).
# Prepare with `bash scripts/device-bundle.sh`; run with carry [".device"]:
#   source .device/enter.sh; bash benchmarks/h100-decode-kernels.sh
# SMALL=1 runs shrunk versions (a lavapipe check; V="node packages/vptq/dist/cli.js" runs the built CLI instead of
# the bundle). T_* are the timeouts in seconds.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
V=${V:-node .device/vptq.mjs}
CONFIGS="v8-k256-r256 v6-k4096 v8-k65536 v4-k256-r16"
GEMV_VARIANTS=${GEMV_VARIANTS:-"8,1,128 8,4,128 4,2,256 8,2,256"}
if [ "${SMALL:-0}" = 1 ]; then
  PROBE="--index-words 65536 --workgroups 8 --workgroup-size 64 --iterations 2 --repeats 1 --entries 256 4096 65536"
  KERNELS="--size-divisor 16 --iterations 2 --repeats 1"; SHAPES="--shapes 4096x4096"; SWEEP_SHAPES="--shapes 4096x11008"
else
  PROBE=""; KERNELS=""; SHAPES=""; SWEEP_SHAPES="--shapes 4096x11008 11008x4096 --repeats 3"
fi
t0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - t0 )) s] $*" | tee -a "$OUT/progress.txt"; }
: > "$OUT/progress.txt"; stamp start
(nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,memory.used --format=csv,noheader -lms 500 > "$OUT/gpu.csv" 2>/dev/null &)
timeout ${T_PROBE:-70} $V bench gather-probe $PROBE > "$OUT/gather-probe.txt" 2> "$OUT/gather-probe.err"; stamp "gather-probe rc=$?"
timeout ${T_KERNELS:-150} $V bench kernels $KERNELS $SHAPES --configs $CONFIGS --gemv $GEMV_VARIANTS > "$OUT/kernels.txt" 2> "$OUT/kernels.err"; stamp "kernels rc=$?"
if [ "${REPEAT:-0}" = 1 ]; then
  timeout ${T_KERNELS:-150} $V bench kernels $KERNELS $SHAPES --configs $CONFIGS > "$OUT/kernels-repeat.txt" 2> "$OUT/kernels-repeat.err"; stamp "kernels repeat rc=$?"
fi
# On-chip sweeps, small-codebook layouts only (each run re-measures copy and the f16 GEMVs as its baseline).
if [ "${SWEEPS:-1}" = 1 ]; then
  for sweep in "pw264:--persistent-workgroups 264" "pw1056:--persistent-workgroups 1056" "rep1:--max-replicas 1" \
               "wg512:--workgroup-size 512" "splits1:--splits 1"; do
    name=${sweep%%:*}; flags=${sweep#*:}
    timeout ${T_SWEEP:-40} $V bench kernels $KERNELS $SWEEP_SHAPES --kernels onchip --configs v8-k256-r256 v6-k4096 $flags > "$OUT/onchip-$name.txt" 2> "$OUT/onchip-$name.err"; stamp "onchip $name rc=$?"
  done
fi
# Streaming VQ-GEMV plans (issue 10: the old planner's one split left 342–512 workgroups at 4096 outputs). Each
# config gets its pre-fix plan first (one split; v8-k256-r256 one row at unroll 4, v6-k4096 two rows at unroll 1),
# then its alternatives (STREAM_PLANS_V8 / STREAM_PLANS_V6 override them; unroll × index words per chunk ≤ 8, so
# v6-k4096 takes u ≤ 2). The planned row comes first in each file.
if [ "${STREAM_SWEEPS:-0}" = 1 ]; then
  for sweep in "v8-k256-r256:r1,s1,w128,u4 ${STREAM_PLANS_V8:-r1,s4,w128,u4 r2,s1,w128,u2 r2,s4,w128,u2 r2,w256 r1,w256,u4}" \
               "v6-k4096:r2,s1,w128,u1 ${STREAM_PLANS_V6:-r1,s4,w128,u2 r2,s2,w128,u1 r2,s8,w128,u1 r2,w256 r2,t1024}"; do
    config=${sweep%%:*}; plans=${sweep#*:}
    timeout ${T_STREAM:-120} $V bench kernels $KERNELS $SWEEP_SHAPES --kernels streaming --configs $config --stream-plans $plans > "$OUT/stream-$config.txt" 2> "$OUT/stream-$config.err"; stamp "stream $config rc=$?"
  done
fi
# The lanes kernel (each lane a vector-row, x staged once per workgroup): the planned fields per lane and
# alternatives, beside the planned streaming row of the same run.
if [ "${LANES_SWEEPS:-0}" = 1 ]; then
  for config in v8-k256-r256 v6-k4096 v8-k65536; do
    timeout ${T_LANES:-120} $V bench kernels $KERNELS $SWEEP_SHAPES --kernels streaming lanes --configs $config --lanes-plans ${LANES_PLANS:-f16 f64 f128 f32,w128 f32,w512} > "$OUT/lanes-$config.txt" 2> "$OUT/lanes-$config.err"; stamp "lanes $config rc=$?"
  done
fi
if [ "${DECODE:-0}" = 1 ]; then
  TINY=""; [ "${SMALL:-0}" = 1 ] && TINY="--tiny --tokens 4"
  for q in v8-k256-r256 v6-k4096; do
    timeout ${T_DECODE:-60} $V bench decode --quantization $q $TINY > "$OUT/decode-$q.txt" 2> "$OUT/decode-$q.err"; stamp "decode $q rc=$?"
    timeout ${T_DECODE:-60} $V bench decode --quantization $q --vptq-only --kernel auto $TINY > "$OUT/decode-$q-onchip.txt" 2> "$OUT/decode-$q-onchip.err"; stamp "decode $q onchip rc=$?"
    # Every projection on the lanes kernel (index words uploaded in its layout).
    timeout ${T_DECODE:-60} $V bench decode --quantization $q --vptq-only --kernel lanes $TINY > "$OUT/decode-$q-lanes.txt" 2> "$OUT/decode-$q-lanes.err"; stamp "decode $q lanes rc=$?"
  done
  # One column split: no reduction dispatch per projection, fewer subgroups busy.
  timeout ${T_DECODE:-60} $V bench decode --quantization v8-k256-r256 --vptq-only --kernel auto --splits 1 $TINY > "$OUT/decode-v8-k256-r256-splits1.txt" 2> "$OUT/decode-v8-k256-r256-splits1.err"; stamp "decode v8-k256-r256 splits1 rc=$?"
  for q in v8-k256-r256 v6-k4096; do echo "== decode $q"; cat "$OUT/decode-$q.txt" "$OUT/decode-$q-onchip.txt" "$OUT/decode-$q-lanes.txt"; done
fi
pkill -f "nvidia-smi --query-gpu=timestamp" || true
for f in gather-probe kernels; do echo "== $f"; cat "$OUT/$f.txt"; done
for f in "$OUT"/stream-*.txt "$OUT"/lanes-*.txt; do [ -f "$f" ] && { echo "== $(basename "$f" .txt)"; cat "$f"; }; done
