#!/usr/bin/env bash
# Pipeline benchmark: N simulated cameras through skynetd, against `ffmpeg -threads 1` decoding
# the same streams in the same run.
#
# Usage: [TIERS="health motion full"] [RAMP="4 8 12 16 24 32"] [SIZE=640x360] [FPS=15] [BITRATE=800] [BFRAMES=0] [CODEC=h264] [QUALITY=on|off|MS]
#        tools/bench/pipeline/bench_pipeline.sh [BUILD_DIR] [CAMERAS] [SECONDS]
# Prints, for each analytics tier in TIERS (one skynetd run each, on the same streams), skynetd's
# CPU seconds per camera-second (health: key frames only; motion: decode + scale + motion +
# events; full: that plus classical vehicle analytics), ffmpeg's CPU seconds per camera-second for
# plain decoding of the same streams, each tier's ratio to it, skynetd's peak RSS per camera, and
# the capture-to-publish latency (publish_time_us - capture_time_us of the motion and vehicle
# events on the feed) p50 and p99.
# Then the ramp (RAMP empty: skipped): skynetd in tier RAMP_TIER with 4, 8, ... of the same
# streams, RAMP_SECONDS each after the warm-up, until analysis first drops (the slowest camera
# analyses fewer than 90% of analytics_fps, or status says overloaded): prints each step and the
# number of cameras at which analysis first dropped.
# Three more modes for TIERS price full-resolution snapshots: "vehicles" (full with records and
# an evidence directory: full-resolution snapshots of every finished track), "vehicles-lowres"
# (the same with snapshot_frames: 0, snapshots from the detect-size frame only) and
# "vehicles-noevidence" (frames held, feed crops cut from them, no evidence directory), e.g.
#   TIERS="vehicles vehicles-lowres" SIZE=1280x720 tools/bench/pipeline/bench_pipeline.sh build 4
set -euo pipefail
cd "$(dirname "$0")/../../.."
BUILD_DIR="${1:-build}"
CAMERAS="${2:-8}"
SECONDS_RUN="${3:-20}"
TIERS="${TIERS:-health motion full}"
RAMP="${RAMP-4 8 12 16 24 32}"
RAMP_TIER="${RAMP_TIER:-full}"
RAMP_SECONDS="${RAMP_SECONDS:-10}"
ANALYTICS_FPS=5
SIZE="${SIZE:-640x360}"     # the simulated streams: size, frame rate (one key frame a second),
FPS="${FPS:-15}"            # and bitrate in kbit/s
BITRATE="${BITRATE:-800}"
BFRAMES="${BFRAMES:-0}"     # non-reference B frames per reference picture (2: 2 of 3 disposable)
CODEC="${CODEC:-h264}"      # h264 | h265
QUALITY="${QUALITY:-on}"    # video quality diagnostics: on (the default sample interval), off, or a sample interval in ms
WARMUP=5
CAMSIM="$BUILD_DIR/tools/camsim/skynet-camsim"
SKYNETD="$BUILD_DIR/daemon/skynetd"
SKYNETCTL="$BUILD_DIR/tools/skynetctl/skynetctl"
WORK=$(mktemp -d /tmp/skynet-bench.XXXXXX)
PORT=$(( 20000 + RANDOM % 20000 ))
CLK_TCK=$(getconf CLK_TCK)
SIM_CAMERAS=$CAMERAS
for n in $RAMP; do [ "$n" -gt "$SIM_CAMERAS" ] && SIM_CAMERAS=$n; done

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

"$CAMSIM" --port "$PORT" --traffic "$SIM_CAMERAS" --vary-seed --size "$SIZE" --fps "$FPS" \
  --bitrate "$BITRATE" --bframes "$BFRAMES" --codec "$CODEC" --log-level warn > "$WORK/camsim.out" 2> "$WORK/camsim.log" &
pids+=($!)
for _ in $(seq 1 1200); do grep -q '^ready' "$WORK/camsim.out" && break; sleep 0.1; done
grep -q '^ready' "$WORK/camsim.out" || { echo "bench: camsim did not start"; cat "$WORK/camsim.log"; exit 1; }
mapfile -t ALL_URLS < <(grep '^rtsp://' "$WORK/camsim.out")
URLS=("${ALL_URLS[@]:0:$CAMERAS}")

write_config() {  # $1: tier (health, motion, full = motion + vehicles, or a vehicles* mode), $2: cameras
  local tier="$1"
  echo "node_id: bench"
  echo "event_endpoint: ipc://$WORK/feed.sock"
  echo "control_endpoint: ipc://$WORK/control.sock"
  echo "metrics_endpoint: \"\""
  echo "log_level: warn"
  case "$QUALITY" in
    on) ;;
    off) echo "video_quality: {enabled: false}";;
    *) echo "video_quality: {sample_interval_ms: $QUALITY}";;
  esac
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
  for u in "${ALL_URLS[@]:0:$2}"; do
    i=$((i+1))
    echo "  - id: cam$i"
    echo "    url: $u"
    echo "    analytics: $tier"
    echo "    analytics_fps: $ANALYTICS_FPS"
    echo "    detect_width: 320"
    case "$1" in
      full|vehicles|vehicles-noevidence) echo "    vehicles: {enabled: true}";;
      vehicles-lowres) echo "    vehicles: {enabled: true, snapshot_frames: 0}";;
    esac
  done
  return 0
}

# Capture-to-publish latency of the events in `skynetctl tail --json` output $1: "P50_MS P99_MS N".
latency() {
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
lat = []
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if 'camera_status' in e or 'heartbeat' in e or 'stream_changed' in e:
        continue  # stamped with the wall clock when published, not a frame's capture time
    c, p = int(e.get('capture_time_us', 0)), int(e.get('publish_time_us', 0))
    if c > 0 and p > 0:
        lat.append((p - c) / 1000.0)
lat.sort()
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0
print("%.1f %.1f %d" % (pick(0.5), pick(0.99), len(lat)))
PY
}

echo "bench: $CAMERAS cameras, $SIZE $CODEC at $FPS fps, $BITRATE kbit/s (one key frame a second, $BFRAMES B frames per reference picture), video quality $QUALITY, analytics at 5 fps, 320 wide; tiers: $TIERS; ${SECONDS_RUN}s measured after ${WARMUP}s warm-up each"

# One skynetd run in tier $1: prints
# "TIER CPU_PER_CAMERA_SECOND PEAK_RSS_KB ONLINE_AT_END LATENCY_P50_MS LATENCY_P99_MS EVENTS".
run_skynetd() {
  write_config "$1" "$CAMERAS" > "$WORK/bench.yaml"
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
  local c0 c1 t0 t1 hwm_kb status tpid
  "$SKYNETCTL" --feed "ipc://$WORK/feed.sock" tail --json > "$WORK/tail-$1.json" 2>/dev/null &
  tpid=$!
  c0=$(cpu_seconds "$dpid")
  t0=$(date +%s.%N)
  sleep "$SECONDS_RUN"
  c1=$(cpu_seconds "$dpid")
  t1=$(date +%s.%N)
  kill -TERM "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null || true
  hwm_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$dpid/status")
  status=$("$SKYNETCTL" --control "ipc://$WORK/control.sock" status 2>/dev/null || true)
  if [ -d "$WORK/evidence" ]; then
    echo "bench: $1: $(find "$WORK/evidence" -name '*.jpg' | wc -l) snapshot files, $(du -sk "$WORK/evidence" | cut -f1) KiB" >&2
  fi
  kill -TERM "$dpid"; wait "$dpid" 2>/dev/null || true
  pids=("${pids[0]}")
  online=$(echo "$status" | awk 'NR > 1 && / online / { n++ } END { print n + 0 }')
  awk -v tier="$1" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v n="$CAMERAS" \
      -v hwm="$hwm_kb" -v online="$online" -v lat="$(latency "$WORK/tail-$1.json")" \
      'BEGIN { printf "%s %.5f %d %d %s\n", tier, (c1 - c0) / ((t1 - t0) * n), hwm, online, lat }'
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
  read -r tier sky hwm online p50 p99 nlat <<< "$r"
  awk -v tier="$tier" -v sky="$sky" -v ff="$ff" -v n="$CAMERAS" -v hwm="$hwm" -v online="$online" 'BEGIN {
    what = tier == "health" ? "key frames only" : tier == "motion" ? "decode+scale+motion+events" : tier == "vehicles" ? "full + vehicles + records + full-resolution snapshot files" : tier == "vehicles-lowres" ? "full + vehicles + records, detect-size snapshots only" : tier == "vehicles-noevidence" ? "full + vehicles + records, source frames held, no files" : "decode+scale+motion+vehicles+events";
    printf "pipeline: skynetd analytics=%s %.4f cpu-s per camera-second (%s), ratio to decode-only %.2fx, %.0f cameras per core, %d of %d online at the end, peak RSS %.1f MiB per camera\n", tier, sky, what, (ff > 0 ? sky / ff : 0), (sky > 0 ? 1 / sky : 0), online, n, hwm / 1024 / n;
  }'
  if [ "$nlat" -gt 0 ]; then
    printf "pipeline: analytics=%s capture-to-publish latency p50 %s ms, p99 %s ms over %s events (target: p99 <= 150 ms + one stream frame interval = %d ms)\n" \
      "$tier" "$p50" "$p99" "$nlat" "$((150 + 1000 / FPS))"
  else
    printf "pipeline: analytics=%s capture-to-publish latency: no events with a capture time\n" "$tier"
  fi
done

# The ramp: more cameras until analysis first drops.
[ -n "$RAMP" ] || exit 0
echo "pipeline: ramp in tier $RAMP_TIER, ${RAMP_SECONDS}s per step after ${WARMUP}s warm-up, analytics at $ANALYTICS_FPS fps"
first_drop=""
for n in $RAMP; do
  write_config "$RAMP_TIER" "$n" > "$WORK/ramp.yaml"
  "$SKYNETD" --config "$WORK/ramp.yaml" > "$WORK/skynetd-ramp-$n.log" 2>&1 &
  dpid=$!
  pids+=($dpid)
  for _ in $(seq 1 600); do
    online=$("$SKYNETCTL" --control "ipc://$WORK/control.sock" --timeout 1000 status 2>/dev/null | grep -c ' online ' || true)
    [ "$online" -ge "$n" ] && break
    sleep 0.1
  done
  sleep "$WARMUP"
  c0=$(cpu_seconds "$dpid"); t0=$(date +%s.%N)
  sleep "$RAMP_SECONDS"
  c1=$(cpu_seconds "$dpid"); t1=$(date +%s.%N)
  "$SKYNETCTL" --control "ipc://$WORK/control.sock" status > "$WORK/ramp-status.txt" 2>/dev/null || true
  kill -TERM "$dpid"; wait "$dpid" 2>/dev/null || true
  pids=("${pids[0]}")
  # From the status text: each camera row's analysed fps (the FPS IN/AN column, the first "x.y/x.y"),
  # and the node's OVERLOADED line with its mean analysis share.
  line=$(/usr/bin/python3 -c '
import re, sys
fps, overloaded, share = [], "no", 1.0
for l in open(sys.argv[1]):
    m = re.search(r"OVERLOADED: .*, (\d+)% of frames analysed", l)
    if m:
        overloaded, share = "yes", int(m.group(1)) / 100.0
    elif l.startswith("cam"):
        m = re.search(r"\s(\d+\.\d+)/(\d+\.\d+)\s", l)
        if m:
            fps.append(float(m.group(2)))
print("%d %.2f %.2f %s %.2f" % (len(fps), min(fps) if fps else 0, sum(fps) / len(fps) if fps else 0,
      overloaded, share))' "$WORK/ramp-status.txt")
  read -r ncams minfps meanfps overloaded share <<< "$line"
  cores=$(awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", (c1 - c0) / (t1 - t0) }')
  dropped=$(awk -v m="$minfps" -v e="$ANALYTICS_FPS" -v o="$overloaded" -v n="$ncams" -v want="$n" \
    'BEGIN { print (n < want || m < 0.9 * e || o == "yes") ? "yes" : "no" }')
  printf "pipeline: ramp %d cameras: %.2f cores, fps analysed min %s mean %s of %d expected, overloaded %s, analysis share %s%s\n" \
    "$n" "$cores" "$minfps" "$meanfps" "$ANALYTICS_FPS" "$overloaded" "$share" "$([ "$dropped" = yes ] && echo ' -> analysis dropped')"
  if [ "$dropped" = yes ]; then first_drop=$n; break; fi
done
if [ -n "$first_drop" ]; then
  echo "pipeline: analysis first drops at $first_drop cameras (tier $RAMP_TIER)"
else
  echo "pipeline: analysis did not drop up to $(echo $RAMP | awk '{ print $NF }') cameras (tier $RAMP_TIER)"
fi
