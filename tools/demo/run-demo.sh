#!/usr/bin/env bash
# The demo: simulated road cameras on loopback, skynetd with vehicle analytics, and
# `skynetctl top` in the terminal (per-camera state, vehicles, counts, speed, alarms).
# Usage: tools/demo/run-demo.sh [--check | --smoke] [BUILD_DIR]. Ctrl-C stops everything cleanly.
# --check only builds the demo's configuration from 1 s clips in a temporary directory, checks
# it with `skynetd --check-config` and exits (0: valid); the test DemoConfigTest runs it.
# --smoke runs the whole demo from 12 s clips in a temporary directory until every camera is
# online, a vehicle event reached the feed and `skynetctl top --once` showed the cameras, then
# stops it and exits (0: the demo works); the test DemoSmokeTest runs it.
#
# Three along-the-road scenes from skynet-scenegen, each with its own camera pose (seed):
#   cam1  road-parking   a car stands in the no-parking zone for 40 s of every minute
#   cam2  road-wrongway  a car drives against the outbound traffic twice a minute
#   cam3  road-day       day traffic of every class
# and gate1, a static camera that camsim takes off the air for 20 s every 2 minutes, and whose
# picture camsim freezes or covers for 40 s every 4 minutes (a video quality fault).
# The clips are rendered once (60 s at 640x360, 10 fps) into BUILD_DIR/demo/ and looped by
# skynet-camsim; their generated configs (calibration, counting line, lanes, zone) are added
# to config/demo.yaml to give BUILD_DIR/demo/demo.yaml, which skynetd runs with.
set -euo pipefail
CHECK_ONLY=0
SMOKE=0
if [[ "${1:-}" == "--check" ]]; then
  CHECK_ONLY=1
  shift
elif [[ "${1:-}" == "--smoke" ]]; then
  SMOKE=1
  shift
fi
cd "$(dirname "$0")/../.."
BUILD_DIR="${1:-build}"
CAMSIM="$BUILD_DIR/tools/camsim/skynet-camsim"
SCENEGEN="$BUILD_DIR/tools/scenegen/skynet-scenegen"
SKYNETD="$BUILD_DIR/daemon/skynetd"
SKYNETCTL="$BUILD_DIR/tools/skynetctl/skynetctl"
BASE_CONFIG=config/demo.yaml
CONTROL=ipc:///tmp/skynetd-demo/control.sock
FEED=tcp://127.0.0.1:5556
RTSP_PORT=8554
CACHE="$BUILD_DIR/demo"
CLIP_SECONDS=60
CLIP_FPS=10
CLIP_SIZE=640x360
# id|scene|seed|name
CAMERAS=(
  "cam1|road-parking|1|Harbour Rd outbound, no parking by the quay"
  "cam2|road-wrongway|2|Ring Rd / Bridge St"
  "cam3|road-day|4|Main St / 5th Ave"
)
OFFLINE_EVERY=120  # gate1 goes off the air this often (seconds) ...
OFFLINE_FOR=20     # ... for this long
QUALITY_EVERY=240  # gate1's picture freezes or is covered this often (seconds) ...
QUALITY_FOR=40     # ... for this long (skynetctl quality, the QUALITY alarm in top)
LOGDIR=$(mktemp -d /tmp/skynet-demo.XXXXXX)
if ((CHECK_ONLY)); then
  CACHE="$LOGDIR/demo"  # the geometry does not depend on the clip's length
  CLIP_SECONDS=1
elif ((SMOKE)); then
  CACHE="$LOGDIR/demo"
  CLIP_SECONDS=12
fi

pids=()
smoke_passed=0
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping"
  # The outage loop and skynetd first (it reports its cameras stopped), then the simulator.
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  if ((smoke_passed)); then
    rm -rf "$LOGDIR"
  else
    echo "demo: logs in $LOGDIR"
  fi
}
trap cleanup INT TERM EXIT

# --- 1. the clips, rendered once --------------------------------------------------------------
# A clip is rendered again when skynet-scenegen was rebuilt after it (the scenes may have
# changed). Two renders at a time: the machine may have only two cores.
mkdir -p "$CACHE"
clip_dir() { echo "$CACHE/$1-seed$2-$CLIP_SIZE-${CLIP_FPS}fps-${CLIP_SECONDS}s"; }
render_jobs=0
for entry in "${CAMERAS[@]}"; do
  IFS='|' read -r id scene seed name <<< "$entry"
  dir=$(clip_dir "$scene" "$seed")
  if [[ -s "$dir/$scene.mp4" && -s "$dir/$scene.yaml" && "$dir/$scene.mp4" -nt "$SCENEGEN" ]]; then
    continue
  fi
  if ((render_jobs == 0 && !CHECK_ONLY)); then
    echo "demo: rendering the road scenes once into $CACHE (about a minute on 2 cores)"
  fi
  rm -rf "$dir" "$dir.tmp"
  "$SCENEGEN" --scene "$scene" --seed "$seed" --seconds "$CLIP_SECONDS" --fps "$CLIP_FPS" \
    --size "$CLIP_SIZE" --out "$dir.tmp" > "$LOGDIR/scenegen-$scene.log" 2>&1 \
    && mv "$dir.tmp" "$dir" || echo "demo: rendering $scene failed (see $LOGDIR)" &
  render_jobs=$((render_jobs + 1))
  ((render_jobs % 2 == 0)) && wait
done
wait
for entry in "${CAMERAS[@]}"; do
  IFS='|' read -r id scene seed name <<< "$entry"
  [[ -s "$(clip_dir "$scene" "$seed")/$scene.mp4" ]] || { echo "demo: no clip for $scene"; exit 1; }
done

# --- 2. the configuration: config/demo.yaml plus one camera per clip ----------------------------
# Each scene's generated camera entry, with the demo's id, name and RTSP URL instead of the
# file and the offline-analysis settings.
CONFIG="$CACHE/demo.yaml"
n=0
for entry in "${CAMERAS[@]}"; do
  IFS='|' read -r id scene seed name <<< "$entry"
  n=$((n + 1))
  awk -v id="$id" -v name="$name" -v url="rtsp://127.0.0.1:$RTSP_PORT/file$n" '
    /^  - id:/ { on = 1; print "  - id: " id; print "    name: \"" name "\""; next }
    !on { next }
    /^    url:/ { print "    url: " url; next }
    /^    file_(realtime|loop):/ { next }
    { print }' "$(clip_dir "$scene" "$seed")/$scene.yaml"
done > "$CACHE/road-cameras.yaml"
# The road cameras first, then the cameras of config/demo.yaml.
sed "/^cameras:/r $CACHE/road-cameras.yaml" "$BASE_CONFIG" > "$CONFIG"
"$SKYNETD" --check-config "$CONFIG" > "$LOGDIR/check-config.log" 2>&1 \
  || { cat "$LOGDIR/check-config.log"; exit 1; }
if ((CHECK_ONLY)); then
  trap - INT TERM EXIT
  # Calibration, counting line and lanes on every road camera; the no-parking zone on cam1.
  for key in 'vehicles:' 'calibration:' 'lines:' 'lanes:'; do
    count=$(grep -c "^ *$key" "$CONFIG" || true)
    [[ "$count" == "${#CAMERAS[@]}" ]] \
      || { echo "demo: $key in $count cameras of $CONFIG, expected ${#CAMERAS[@]}"; exit 1; }
  done
  grep -q 'no_parking: true' "$CONFIG" || { echo "demo: no no-parking zone in $CONFIG"; exit 1; }
  echo "demo: configuration valid: $(grep -c '^  - id:' "$CONFIG") cameras," \
    "${#CAMERAS[@]} calibrated with lines and lanes"
  rm -rf "$LOGDIR"
  exit 0
fi

# --- 3. camsim, skynetd ---------------------------------------------------------------------
files=()
for entry in "${CAMERAS[@]}"; do
  IFS='|' read -r id scene seed name <<< "$entry"
  files+=(--file "$(clip_dir "$scene" "$seed")/$scene.mp4")
done
echo "demo: starting camera simulator (3 road cameras, 1 static) on rtsp://127.0.0.1:$RTSP_PORT"
"$CAMSIM" --port "$RTSP_PORT" --size "$CLIP_SIZE" --fps "$CLIP_FPS" --loop-seconds "$CLIP_SECONDS" \
  --bitrate 1500 "${files[@]}" --static 1 --control-port 0 \
  > "$LOGDIR/camsim.out" 2> "$LOGDIR/camsim.log" &
pids+=($!)
for _ in $(seq 1 600); do
  grep -q '^ready' "$LOGDIR/camsim.out" 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$LOGDIR/camsim.log"; exit 1; }
  sleep 0.1
done
grep -q '^ready' "$LOGDIR/camsim.out" || { echo "demo: camsim did not get ready"; exit 1; }
CAMSIM_CONTROL_PORT=$(sed -n 's/^control 127.0.0.1://p' "$LOGDIR/camsim.out")

# The control socket's directory must be closed to others (skynetd refuses one open to them);
# skynetd would create it 0770 itself, but the evidence store, opened first, creates it with the
# umask's mode, and an earlier run may have left it so.
mkdir -p /tmp/skynetd-demo && chmod 0750 /tmp/skynetd-demo
echo "demo: starting skynetd with $CONFIG (log: $LOGDIR/skynetd.log)"
"$SKYNETD" --config "$CONFIG" > "$LOGDIR/skynetd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  "$SKYNETCTL" --control "$CONTROL" --timeout 500 cameras > /dev/null 2>&1 && break
  kill -0 "${pids[1]}" 2>/dev/null || { cat "$LOGDIR/skynetd.log"; exit 1; }
done

# --- 4. now and then, gate1 goes off the air (camsim's fault control) ------------------------
camsim_control() {
  exec 3<>"/dev/tcp/127.0.0.1/$CAMSIM_CONTROL_PORT" && echo "$1" >&3 && read -r -t 5 _ <&3
  exec 3>&-
}
(
  trap 'exit 0' TERM
  while true; do
    sleep $((OFFLINE_EVERY - OFFLINE_FOR)) & wait $!
    camsim_control "stop static1" || true
    sleep "$OFFLINE_FOR" & wait $!
    camsim_control "start static1" || true
  done
) > /dev/null 2>&1 &
pids+=($!)

# --- 5. now and then, gate1's picture freezes or is covered: a video quality fault -------------
# Half-way between outages (they come at 100-120 s of every 120 s): frozen first, then covered.
(
  trap 'exit 0' TERM
  faults=(freeze cover)
  n=0
  sleep 30 & wait $!
  while true; do
    camsim_control "${faults[$((n % 2))]} static1" || true
    sleep "$QUALITY_FOR" & wait $!
    camsim_control "resume static1" || true
    n=$((n + 1))
    sleep $((QUALITY_EVERY - QUALITY_FOR)) & wait $!
  done
) > /dev/null 2>&1 &
pids+=($!)

if ((SMOKE)); then
  # Every camera online, then a vehicle event on the feed, then one screen of top.
  cameras=$(grep -c '^  - id:' "$CONFIG")
  online=0
  for _ in $(seq 1 240); do
    online=$("$SKYNETCTL" --control "$CONTROL" --timeout 2000 status --json 2> /dev/null |
      grep -o '"state": *"CAMERA_STATE_ONLINE"' | wc -l || true)
    ((online == cameras)) && break
    sleep 0.5
  done
  ((online == cameras)) || { echo "demo smoke: $online of $cameras cameras online"; exit 1; }
  # Only the event on stdout: an error message must not pass for one.
  vehicle=$("$SKYNETCTL" --feed "$FEED" tail --type vehicle --count 1 --for 120 \
    2> "$LOGDIR/tail.log") || { echo "demo smoke: skynetctl tail failed:"; cat "$LOGDIR/tail.log"; exit 1; }
  [[ -n "$vehicle" ]] || { echo "demo smoke: no vehicle event on $FEED within 120 s"; exit 1; }
  screen=$("$SKYNETCTL" --control "$CONTROL" --feed "$FEED" top --once --plain 2>&1) \
    || { echo "demo smoke: skynetctl top failed: $screen"; exit 1; }
  for entry in "${CAMERAS[@]}"; do
    IFS='|' read -r id scene seed name <<< "$entry"
    grep -q "$id" <<< "$screen" || { echo "demo smoke: top does not show $id:"; echo "$screen"; exit 1; }
  done
  echo "demo smoke: $cameras cameras online; first vehicle event: $vehicle"
  echo "$screen"
  smoke_passed=1
  exit 0  # the EXIT trap stops skynetd and camsim
fi

echo
echo "demo: skynetctl top (Ctrl-C to stop); in another terminal try:"
echo "      $SKYNETCTL --control $CONTROL status"
echo "      $SKYNETCTL --feed $FEED tail --type traffic"
echo "      $SKYNETCTL --control $CONTROL quality     # gate1 freezes or is covered now and then"
echo "      $SKYNETCTL --control $CONTROL search --limit 5   # vehicle records, newest first"
echo "      $SKYNETCTL --control $CONTROL snapshot CAMERA:TRACK -o car.jpg   # from a search row"
echo "      $SKYNETCTL --control $CONTROL clip CAMERA:TRACK -o car.mp4"
# In the foreground, so that Ctrl-C reaches it; the EXIT trap then stops skynetd and camsim.
"$SKYNETCTL" --control "$CONTROL" --feed "$FEED" top || true
