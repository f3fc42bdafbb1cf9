#!/usr/bin/env bash
# Pipeline benchmark: N simulated cameras through skynetd, against `ffmpeg -threads 1` decoding
# the same streams in the same run.
#
# Usage: tools/bench/pipeline/bench_pipeline.sh [BUILD_DIR] [CAMERAS] [SECONDS]
# Prints skynetd's CPU seconds per camera-second (decode + scale + motion analytics + events),
# ffmpeg's CPU seconds per camera-second for plain decoding of the same streams, their ratio,
# and skynetd's peak RSS per camera.
set -euo pipefail
cd "$(dirname "$0")/../../.."
BUILD_DIR="${1:-build}"
CAMERAS="${2:-8}"
SECONDS_RUN="${3:-20}"
WARMUP=5
CAMSIM="$BUILD_DIR/tools/camsim/skynet-camsim"
SKYNETD="$BUILD_DIR/daemon/skynetd"
SKYNETCTL="$BUILD_DIR/tools/skynetctl/skynetctl"
WORK=$(mktemp -d /tmp/skynet-bench.XXXXXX)
PORT=$(( 20000 + RANDOM % 20000 ))
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

# CPU time (utime + stime, plus waited-for children) of a process in seconds.
cpu_seconds() {
  awk -v tck="$CLK_TCK" '{ print ($14 + $15 + $16 + $17) / tck }' "/proc/$1/stat"
}

"$CAMSIM" --port "$PORT" --traffic "$CAMERAS" --vary-seed --size 640x360 --fps 15 \
  --bitrate 800 --log-level warn > "$WORK/camsim.out" 2> "$WORK/camsim.log" &
pids+=($!)
for _ in $(seq 1 1200); do grep -q '^ready' "$WORK/camsim.out" && break; sleep 0.1; done
grep -q '^ready' "$WORK/camsim.out" || { echo "bench: camsim did not start"; cat "$WORK/camsim.log"; exit 1; }
mapfile -t URLS < <(grep '^rtsp://' "$WORK/camsim.out")

{
  echo "node_id: bench"
  echo "event_endpoint: ipc://$WORK/feed.sock"
  echo "control_endpoint: ipc://$WORK/control.sock"
  echo "log_level: warn"
  echo "cameras:"
  i=0
  for u in "${URLS[@]}"; do
    i=$((i+1))
    echo "  - id: cam$i"
    echo "    url: $u"
    echo "    analytics_fps: 5"
    echo "    detect_width: 320"
  done
} > "$WORK/bench.yaml"

echo "bench: $CAMERAS cameras, 640x360 H.264 at 15 fps, analytics at 5 fps, 320 wide; ${SECONDS_RUN}s measured after ${WARMUP}s warm-up"

"$SKYNETD" --config "$WORK/bench.yaml" > "$WORK/skynetd.log" 2>&1 &
DPID=$!
pids+=($DPID)
# Wait until every camera is online.
for _ in $(seq 1 600); do
  online=$("$SKYNETCTL" --control "ipc://$WORK/control.sock" --timeout 1000 status 2>/dev/null | grep -c ' online ' || true)
  [ "$online" -ge "$CAMERAS" ] && break
  sleep 0.1
done
sleep "$WARMUP"
c0=$(cpu_seconds "$DPID")
t0=$(date +%s.%N)
sleep "$SECONDS_RUN"
c1=$(cpu_seconds "$DPID")
t1=$(date +%s.%N)
hwm_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$DPID/status")
status=$("$SKYNETCTL" --control "ipc://$WORK/control.sock" status 2>/dev/null || true)
kill -TERM "$DPID"; wait "$DPID" 2>/dev/null || true
pids=("${pids[0]}")

# Baseline: ffmpeg decoding the same streams, one single-threaded process per camera.
fpids=()
for u in "${URLS[@]}"; do
  ffmpeg -nostdin -loglevel error -threads 1 -rtsp_transport tcp -i "$u" \
    -t "$((SECONDS_RUN + WARMUP))" -f null - &
  fpids+=($!)
done
sleep "$WARMUP"
sum_cpu() { local t=0; for p in "$@"; do t=$(awk -v a="$t" -v b="$(cpu_seconds "$p" 2>/dev/null || echo 0)" 'BEGIN { print a + b }'); done; echo "$t"; }
f0=$(sum_cpu "${fpids[@]}")
ft0=$(date +%s.%N)
sleep "$SECONDS_RUN"
f1=$(sum_cpu "${fpids[@]}")
ft1=$(date +%s.%N)
for p in "${fpids[@]}"; do wait "$p" 2>/dev/null || true; done

awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v f0="$f0" -v f1="$f1" -v ft0="$ft0" \
    -v ft1="$ft1" -v n="$CAMERAS" -v hwm="$hwm_kb" 'BEGIN {
  sky = (c1 - c0) / ((t1 - t0) * n);
  ff = (f1 - f0) / ((ft1 - ft0) * n);
  printf "pipeline: skynetd %.4f cpu-s per camera-second (decode+scale+motion+events)\n", sky;
  printf "pipeline: ffmpeg -threads 1 -f null %.4f cpu-s per camera-second (decode only)\n", ff;
  printf "pipeline: ratio skynetd/ffmpeg %.2fx\n", (ff > 0 ? sky / ff : 0);
  printf "pipeline: skynetd peak RSS %.1f MiB total, %.1f MiB per camera (%d cameras)\n", hwm / 1024, hwm / 1024 / n, n;
  printf "pipeline: cameras per core at this load: skynetd %.0f, ffmpeg %.0f\n", (sky > 0 ? 1 / sky : 0), (ff > 0 ? 1 / ff : 0);
}'
echo "$status" | awk 'NR > 1 && / online / { n++ } END { printf "pipeline: %d cameras online at the end of the run\n", n }'
