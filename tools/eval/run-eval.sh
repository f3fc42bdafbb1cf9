#!/bin/bash
# run-eval.sh [BUILD_DIR]: the motion and vehicle evaluation. Generates every synthetic scene
# with skynet-scenegen, runs `skynetd analyze` on it with the scene's config (its recommended
# masks; for scenes with vehicles the calibration, counting line, lanes and zones of the truth),
# scores the events with skynet-eval and prints two tables: motion, then vehicles against the
# targets (day scenes: traffic, dense, parking, wrong-way; adverse: night-rain, shake). Then
# runs analyze on the real clips that are present (no truth: events per hour only).
#
# Environment: EVAL_SECONDS (default 90) per scene, EVAL_SEED (1), EVAL_DIR (a temp dir, removed
# unless EVAL_KEEP=1). Needs: skynetd, skynet-scenegen, skynet-eval built in BUILD_DIR; for the
# real clips that are not H.264, gst-launch-1.0 (they are transcoded first: ingest reads only
# H.264/H.265).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
seconds=${EVAL_SECONDS:-90}
seed=${EVAL_SEED:-1}
skynetd=$build/daemon/skynetd
scenegen=$build/tools/scenegen/skynet-scenegen
scorer=$build/tools/eval/skynet-eval
for b in "$skynetd" "$scenegen" "$scorer"; do
  [ -x "$b" ] || { echo "run-eval: $b is not built" >&2; exit 2; }
done
work=${EVAL_DIR:-$(mktemp -d /tmp/skynet-eval.XXXXXX)}
mkdir -p "$work"
[ "${EVAL_KEEP:-0}" = 1 ] || [ -n "${EVAL_DIR:-}" ] || trap 'rm -rf "$work"' EXIT

# CPU ms/frame of the motion detector and of vehicle analytics, from analyze's summary lines.
cpu_of() { sed -n 's/.*motion \([0-9.]*\) ms cpu\/frame.*/\1/p' "$1"; }
vehicle_cpu_of() { sed -n 's/.*vehicles \([0-9.]*\) ms cpu\/frame.*/\1/p' "$1"; }

motion_scenes="traffic night-rain illumination shake empty"
vehicle_scenes="traffic:day dense:day parking:day wrong-way:day night-rain:adverse shake:adverse"
for scene in $motion_scenes dense parking wrong-way; do
  "$scenegen" --scene "$scene" --seconds "$seconds" --fps 10 --size 640x360 --seed "$seed" \
    --out "$work" > /dev/null
  tracks=()
  if grep -q '^    vehicles:' "$work/$scene.yaml"; then tracks=(--tracks "$work/$scene.tracks.jsonl"); fi
  if ! "$skynetd" analyze --config "$work/$scene.yaml" --camera "$scene" "$work/$scene.mp4" \
      --out "$work/$scene.jsonl" "${tracks[@]}" 2> "$work/$scene.log"; then
    cat "$work/$scene.log" >&2
    exit 1
  fi
done

echo "motion evaluation: ${seconds} s per scene at 640x360, 10 fps, seed ${seed}; analysed at" \
     "320 px wide, 5 fps, scene masks (OSD, trees) applied"
header=--header
for scene in $motion_scenes; do
  "$scorer" --truth "$work/$scene.truth.json" --events "$work/$scene.jsonl" --row "$scene" \
    --cpu-ms "$(cpu_of "$work/$scene.log")" $header
  header=
done

echo
echo "vehicle evaluation: the same clips, classical backend, calibrated, after a 2 s warm-up;" \
     "line count matched within 1 s in the same direction; boxes and MOTA at IoU 0.5 on" \
     "vehicles at least half visible; ms CPU = vehicle analytics per analysed frame (motion not" \
     "included)"
header=--header
for entry in $vehicle_scenes; do
  scene=${entry%%:*}
  "$scorer" --truth "$work/$scene.truth.json" --events "$work/$scene.jsonl" \
    --tracks "$work/$scene.tracks.jsonl" --targets "${entry#*:}" --row "$scene" \
    --cpu-ms "$(vehicle_cpu_of "$work/$scene.log")" $header
  header=
done

# Real footage: no ground truth, so only the motion events per hour of video.
echo
echo "real clips (no truth): motion intervals started per hour of video"
clip_config() {  # id url [mask polygon]
  printf 'node_id: eval\ncameras:\n  - id: %s\n    url: %s\n    analytics_fps: 5\n' "$1" "$2"
  if [ -n "${3:-}" ]; then printf '    motion:\n      masks:\n        - %s\n' "$3"; fi
}
run_clip() {  # name path [mask polygon]
  local name=$1 path=$2 mask=${3:-} video=$2
  if [ ! -r "$path" ]; then
    echo "$name: skipped, $path is absent"
    return
  fi
  if ! ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 \
      "$path" 2> /dev/null | grep -qE '^(h264|hevc)$'; then
    # Ingest decodes H.264/H.265 only (what cameras send); re-encode other codecs first.
    video=$work/$name.mp4
    gst-launch-1.0 -q filesrc location="$path" ! decodebin ! videoconvert ! \
      x264enc speed-preset=veryfast bitrate=4000 ! h264parse ! mp4mux ! \
      filesink location="$video" > /dev/null 2>&1 || { echo "$name: cannot transcode $path"; return; }
  fi
  clip_config "$name" "file://$video" "$mask" > "$work/$name.yaml"
  if ! "$skynetd" analyze --config "$work/$name.yaml" --camera "$name" "$video" \
      --out "$work/$name.jsonl" 2> "$work/$name.log"; then
    echo "$name: analyze failed: $(tail -1 "$work/$name.log")"
    return
  fi
  local started secs
  started=$(grep -c motionStarted "$work/$name.jsonl" || true)
  secs=$(sed -n 's/.*frames, \([0-9.]*\) s of video.*/\1/p' "$work/$name.log")
  awk -v n="$name" -v s="$started" -v t="$secs" -v c="$(cpu_of "$work/$name.log")" \
    -v m="${mask:+ (masked)}" 'BEGIN {
      printf "%-14s | %3d motion events in %5.1f s = %6.0f /h%s | %s ms CPU/frame\n",
             n, s, t, (t > 0 ? s * 3600 / t : 0), m, c }'
}
opencv_data=/usr/share/doc/opencv-doc/examples/data
shared=$repo/../shared/data
run_clip vtest "$opencv_data/vtest.avi"
run_clip tree-unmasked "$opencv_data/tree.avi"
# The tree fills the left two thirds of tree.avi; tools/eval/tree-mask.yaml documents the mask.
run_clip tree "$opencv_data/tree.avi" "$(sed -n 's/^ *- \(\[\[.*\]\]\)$/\1/p' "$here/tree-mask.yaml")"
run_clip car-detection "$shared/car-detection.mp4"
