#!/usr/bin/env bash
# Pipeline benchmark: N simulated cameras through skynetd, against `ffmpeg -threads 1` decoding
# the same streams in the same run.
#
# Usage: [TIERS="full health"] [SIZE=640x360] [FPS=15] [BITRATE=800] tools/bench/pipeline/bench_pipeline.sh [BUILD_DIR] [CAMERAS] [SECONDS]
# Prints, for each analytics tier in TIERS (one skynetd run each, on the same streams), skynetd's
# CPU seconds per camera-second (full: decode + scale + motion analytics + events; health: key
# frames only), ffmpeg's CPU seconds per camera-second for plain decoding of the same streams,
# each tier's ratio to it, and skynetd's peak RSS per camera (first tier).
# Two more modes for TIERS: "vehicles" (full, vehicles on, records and an evidence directory:
# full-resolution snapshots of every finished track, vehicles.snapshot_frames at its default)
# and "vehicles-lowres" (the same with snapshot_frames: 0, snapshots from the detect-size frame
# only), and "vehicles-noevidence" (frames held, feed crops cut from them, but no evidence
# directory: no files encoded or written); together they price full-resolution snapshots, e.g.
#   TIERS="vehicles vehicles-lowres" SIZE=1280x720 tools/bench/pipeline/bench_pipeline.sh build 4
set -euo pipefail
cd "$(dirname "$0")/../../.."
BUILD_DIR="${1:-build}"
CAMERAS="${2:-8}"
SECONDS_RUN="${3:-20}"
TIERS="${TIERS:-full health}"
SIZE="${SIZE:-640x360}"     # the simulated streams: size, frame rate (one key frame a second),
FPS="${FPS:-15}"            # and bitrate in kbit/s
BITRATE="${BITRATE:-800}"
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

"$CAMSIM" --port "$PORT" --traffic "$CAMERAS" --vary-seed --size "$SIZE" --fps "$FPS" \
  --bitrate "$BITRATE" --log-level warn > "$WORK/camsim.out" 2> "$WORK/camsim.log" &
pids+=($!)
for _ in $(seq 1 1200); do grep -q '^ready' "$WORK/camsim.out" && break; sleep 0.1; done
grep -q '^ready' "$WORK/camsim.out" || { echo "bench: camsim did not start"; cat "$WORK/camsim.log"; exit 1; }
mapfile -t URLS < <(grep '^rtsp://' "$WORK/camsim.out")

write_config() {  # $1: analytics tier, or vehicles / vehicles-lowres
  local tier="$1"
  echo "node_id: bench"
  echo "event_endpoint: ipc://$WORK/feed.sock"
  echo "control_endpoint: ipc://$WORK/control.sock"
  echo "metrics_endpoint: \"\""
  echo "log_level: warn"
  case "$tier" in vehicles*)
    rm -rf "$WORK/evidence" "$WORK/records.db"*
    echo "records:"
    echo "  path: $WORK/records.db"
    if [ "$tier" != vehicles-noevidence ]; then
      echo "evidence:"
      echo "  path: $WORK/evidence"
    fi
    tier=full;;
  esac
  echo "cameras:"
  i=0
  for u in "${URLS[@]}"; do
    i=$((i+1))
    echo "  - id: cam$i"
    echo "    url: $u"
    echo "    analytics: $tier"
    echo "    analytics_fps: 5"
    echo "    detect_width: 320"
    case "$1" in
      vehicles|vehicles-noevidence) echo "    vehicles: {enabled: true}";;
      vehicles-lowres) echo "    vehicles: {enabled: true, snapshot_frames: 0}";;
    esac
  done
}

echo "bench: $CAMERAS cameras, $SIZE H.264 at $FPS fps, $BITRATE kbit/s (one key frame a second), analytics at 5 fps, 320 wide; tiers: $TIERS; ${SECONDS_RUN}s measured after ${WARMUP}s warm-up each"

# One skynetd run in tier $1: prints "TIER CPU_PER_CAMERA_SECOND PEAK_RSS_KB ONLINE_AT_END".
run_skynetd() {
  write_config "$1" > "$WORK/bench.yaml"
  "$SKYNETD" --config "$WORK/bench.yaml" > "$WORK/skynetd-$1.log" 2>&1 &
  local dpid=$!
  pids+=($dpid)
  # Wait until every camera is online.
  for _ in $(seq 1 600); do
    online=$("$SKYNETCTL" --control "ipc://$WORK/control.sock" --timeout 1000 status 2>/dev/null | grep -c ' online ' || true)
    [ "$online" -ge "$CAMERAS" ] && break
    sleep 0.1
  done
  sleep "$WARMUP"
  local c0 c1 t0 t1 hwm_kb status
  c0=$(cpu_seconds "$dpid")
  t0=$(date +%s.%N)
  sleep "$SECONDS_RUN"
  c1=$(cpu_seconds "$dpid")
  t1=$(date +%s.%N)
  hwm_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$dpid/status")
  status=$("$SKYNETCTL" --control "ipc://$WORK/control.sock" status 2>/dev/null || true)
  if [ -d "$WORK/evidence" ]; then
    echo "bench: $1: $(find "$WORK/evidence" -name '*.jpg' | wc -l) snapshot files, $(du -sk "$WORK/evidence" | cut -f1) KiB" >&2
  fi
  kill -TERM "$dpid"; wait "$dpid" 2>/dev/null || true
  pids=("${pids[0]}")
  online=$(echo "$status" | awk 'NR > 1 && / online / { n++ } END { print n + 0 }')
  awk -v tier="$1" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v n="$CAMERAS" \
      -v hwm="$hwm_kb" -v online="$online" \
      'BEGIN { printf "%s %.5f %d %d\n", tier, (c1 - c0) / ((t1 - t0) * n), hwm, online }'
}

results=()
for tier in $TIERS; do results+=("$(run_skynetd "$tier")"); done

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

ff=$(awk -v f0="$f0" -v f1="$f1" -v ft0="$ft0" -v ft1="$ft1" -v n="$CAMERAS" \
  'BEGIN { printf "%.5f", (f1 - f0) / ((ft1 - ft0) * n) }')
printf "pipeline: ffmpeg -threads 1 -f null %.4f cpu-s per camera-second (decode only)\n" "$ff"
for r in "${results[@]}"; do
  read -r tier sky hwm online <<< "$r"
  awk -v tier="$tier" -v sky="$sky" -v ff="$ff" -v n="$CAMERAS" -v hwm="$hwm" -v online="$online" 'BEGIN {
    what = tier == "health" ? "key frames only" : tier == "motion" ? "decode+scale+motion+events" : tier == "vehicles" ? "full + vehicles + records + full-resolution snapshot files" : tier == "vehicles-lowres" ? "full + vehicles + records, detect-size snapshots only" : tier == "vehicles-noevidence" ? "full + vehicles + records, source frames held, no files" : "decode+scale+motion+vehicles(if on)+events";
    printf "pipeline: skynetd analytics=%s %.4f cpu-s per camera-second (%s), ratio to decode-only %.2fx, %.0f cameras per core, %d of %d online at the end, peak RSS %.1f MiB per camera\n", tier, sky, what, (ff > 0 ? sky / ff : 0), (sky > 0 ? 1 / sky : 0), online, n, hwm / 1024 / n;
  }'
done
