#!/usr/bin/env bash
# The demo: simulated cameras on loopback, skynetd, and live events in the terminal.
# Usage: tools/demo/run-demo.sh [BUILD_DIR]. Ctrl-C stops everything cleanly.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR="${1:-build}"
CAMSIM="$BUILD_DIR/tools/camsim/skynet-camsim"
SKYNETD="$BUILD_DIR/daemon/skynetd"
SKYNETCTL="$BUILD_DIR/tools/skynetctl/skynetctl"
CONFIG=config/demo.yaml
CONTROL=ipc:///tmp/skynetd-demo/control.sock
FEED=tcp://127.0.0.1:5556
LOGDIR=$(mktemp -d /tmp/skynet-demo.XXXXXX)

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping"
  # skynetd first (it reports its cameras stopped), then the simulator.
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  echo "demo: logs in $LOGDIR"
}
trap cleanup INT TERM EXIT

echo "demo: starting camera simulator (3 traffic cameras, 1 static) on rtsp://127.0.0.1:8554"
"$CAMSIM" --port 8554 --traffic 3 --vary-seed --static 1 > "$LOGDIR/camsim.out" 2> "$LOGDIR/camsim.log" &
pids+=($!)
for _ in $(seq 1 600); do
  grep -q '^ready' "$LOGDIR/camsim.out" 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$LOGDIR/camsim.log"; exit 1; }
  sleep 0.1
done
grep -q '^ready' "$LOGDIR/camsim.out" || { echo "demo: camsim did not get ready"; exit 1; }

echo "demo: starting skynetd with $CONFIG (log: $LOGDIR/skynetd.log)"
"$SKYNETD" --config "$CONFIG" > "$LOGDIR/skynetd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  "$SKYNETCTL" --control "$CONTROL" --timeout 500 cameras > /dev/null 2>&1 && break
  kill -0 "${pids[1]}" 2>/dev/null || { cat "$LOGDIR/skynetd.log"; exit 1; }
done
"$SKYNETCTL" --control "$CONTROL" cameras
echo
echo "demo: live events (Ctrl-C to stop); in another terminal try:"
echo "      $SKYNETCTL --control $CONTROL status"
echo
# In the foreground, so that Ctrl-C reaches it; the EXIT trap then stops skynetd and camsim.
"$SKYNETCTL" --control "$CONTROL" --feed "$FEED" tail || true
