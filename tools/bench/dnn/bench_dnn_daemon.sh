#!/usr/bin/env bash
# The DNN thread budget on a real skynetd: 1 and 2 simulated cameras with the DNN vehicle backend,
# with `dnn.threads: 0` (OpenCV's default pool, one thread per core: before the budget) and
# `dnn.threads: 1` (the default), same streams, one run. Per step: the cores the whole process used,
# those of the analytics workers (threads "analytics-N"), of threads named like the process
# or a worker that are not the worker itself (OpenCV's pool; GStreamer names its own threads), and
# of the rest (ingest, feed, ...).
#
# Usage: [SIZE=640x360] [FPS=15] tools/bench/dnn/bench_dnn_daemon.sh [BUILD_DIR] [SECONDS] [MODEL]
# MODEL defaults to models/nanodet.onnx (make models), else ../shared/models/nanodet.onnx.
set -euo pipefail
cd "$(dirname "$0")/../../.."
BUILD_DIR="${1:-build}"
SECONDS_RUN="${2:-20}"
MODEL="${3:-}"
SIZE="${SIZE:-640x360}"
FPS="${FPS:-15}"
WARMUP=8
if [ -z "$MODEL" ]; then
  for m in models/nanodet.onnx ../shared/models/nanodet.onnx; do
    [ -f "$m" ] && { MODEL=$(realpath "$m"); break; }
  done
fi
[ -n "$MODEL" ] || { echo "dnn-daemon: no model (make models, or pass a path)"; exit 2; }
CAMSIM="$BUILD_DIR/tools/camsim/skynet-camsim"
SKYNETD="$BUILD_DIR/daemon/skynetd"
SKYNETCTL="$BUILD_DIR/tools/skynetctl/skynetctl"
WORK=$(mktemp -d /tmp/skynet-bench-dnn.XXXXXX)
CLK_TCK=$(getconf CLK_TCK)
pids=()
cleanup() {
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

"$CAMSIM" --port 0 --traffic 2 --vary-seed --size "$SIZE" --fps "$FPS" --log-level warn \
  > "$WORK/camsim.out" 2> "$WORK/camsim.log" &
pids+=($!)
for _ in $(seq 1 1200); do grep -q '^ready' "$WORK/camsim.out" && break; sleep 0.1; done
grep -q '^ready' "$WORK/camsim.out" || { echo "dnn-daemon: camsim did not start"; exit 1; }
mapfile -t URLS < <(grep '^rtsp://' "$WORK/camsim.out")

# CPU seconds of process $1's threads, by group: "TOTAL ANALYTICS POOL OTHER". A new thread takes
# its creator's name, so OpenCV's pool threads (made on first use by a worker) are named like the
# process or like a worker: of the threads named "analytics-N", the first made (lowest id) is the
# worker and the rest are pool threads.
thread_cpu() {
  local comm
  comm=$(cat "/proc/$1/comm")
  for t in /proc/"$1"/task/*; do
    echo "${t##*/}|$(cat "$t/comm" 2>/dev/null)|$(cut -d' ' -f14,15 "$t/stat" 2>/dev/null)"
  done | sort -t'|' -k1,1n | awk -F'|' -v tck="$CLK_TCK" -v comm="$comm" '{
    split($3, f, " "); s = (f[1] + f[2]) / tck; total += s
    if ($2 ~ /^analytics-/ && !($2 in seen)) { seen[$2] = 1; a += s }
    else if ($2 ~ /^analytics-/ || $2 == comm) p += s
    else o += s
  } END { printf "%.3f %.3f %.3f %.3f\n", total, a, p, o }'
}

echo "dnn-daemon: model $MODEL, $SIZE at $FPS fps, analytics_fps 5, detect_fps 5, input 320, 2 analytics workers; ${SECONDS_RUN}s after ${WARMUP}s warm-up"
for threads in 0 1; do
  for n in 1 2; do
    {
      echo "node_id: dnn-bench"
      echo "event_endpoint: ipc://$WORK/feed.sock"
      echo "control_endpoint: ipc://$WORK/control.sock"
      echo "metrics_endpoint: \"\""
      echo "log_level: warn"
      echo "analytics_workers: 2"
      echo "dnn: {threads: $threads}"
      echo "cameras:"
      for ((i = 0; i < n; i++)); do
        echo "  - id: cam$i"
        echo "    url: ${URLS[$i]}"
        echo "    analytics_fps: 5"
        echo "    vehicles:"
        echo "      enabled: true"
        echo "      backend: dnn"
        echo "      detector: {model_path: $MODEL, input_size: 320, detect_fps: 5}"
      done
    } > "$WORK/skynetd.yaml"
    "$SKYNETD" --config "$WORK/skynetd.yaml" > "$WORK/skynetd.log" 2>&1 &
    dpid=$!
    pids+=($dpid)
    for _ in $(seq 1 600); do
      online=$("$SKYNETCTL" --control "ipc://$WORK/control.sock" --timeout 1000 status 2>/dev/null | grep -c ' online ' || true)
      [ "$online" -ge "$n" ] && break
      sleep 0.1
    done
    sleep "$WARMUP"
    read -r c0 a0 p0 o0 <<< "$(thread_cpu "$dpid")"
    t0=$(date +%s.%N)
    sleep "$SECONDS_RUN"
    read -r c1 a1 p1 o1 <<< "$(thread_cpu "$dpid")"
    t1=$(date +%s.%N)
    nthreads=$(ls "/proc/$dpid/task" | wc -l)
    kill -TERM "$dpid"; wait "$dpid" 2>/dev/null || true
    pids=("${pids[0]}")
    awk -v t="$threads" -v n="$n" -v c0="$c0" -v c1="$c1" -v a0="$a0" -v a1="$a1" -v p0="$p0" \
        -v p1="$p1" -v o0="$o0" -v o1="$o1" -v t0="$t0" -v t1="$t1" -v nt="$nthreads" 'BEGIN {
      w = t1 - t0
      printf "dnn-daemon: dnn.threads %d, %d camera%s: process %.2f cores = analytics workers %.2f + opencv pool %.2f + other (ingest, feed) %.2f; %d threads\n",
        t, n, n == 1 ? "" : "s", (c1 - c0) / w, (a1 - a0) / w, (p1 - p0) / w, (o1 - o0) / w, nt
    }'
  done
done
