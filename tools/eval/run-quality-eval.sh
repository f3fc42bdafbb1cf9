#!/bin/bash
# run-quality-eval.sh [BUILD_DIR]: the video quality diagnostics on scenegen picture faults and
# normal scenes (issue 15 item 7, docs/video-quality.md "Measured").
#
# For each seed of QUALITY_SEEDS ("1 2 3"), skynet-scenegen renders every fault of QUALITY_FAULTS
# (cover paint defocus knock freeze cast noise black) over every scene of QUALITY_SCENES
# (road-day road-night road-rain road-clouds road-shake road-dense illumination), starting at
# QUALITY_FAULT_AT (9) s of a QUALITY_SECONDS (40) s clip (QUALITY_SIZE 640x360, 10 fps; fault seed
# seed*100 + the scene's place in the list), and each scene without a fault for
# QUALITY_NORMAL_SECONDS (40) s. `skynetd analyze` runs each clip with its generated config (the
# daemon's default video_quality settings: a sample per second, the reference learned from the
# clip's start); skynet-quality-eval prints detection rate and time to detect per fault kind
# (window QUALITY_WINDOW_S, 30 s) and the false diagnostics. QUALITY_DIR: keep the files there
# (else a temporary directory, removed); clips already rendered there are not rendered again.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
eval_start run-quality-eval "${1:-}" "${QUALITY_DIR:-}" skynet-quality-eval

faults=${QUALITY_FAULTS:-cover paint defocus knock freeze cast noise black}
scenes=${QUALITY_SCENES:-road-day road-night road-rain road-clouds road-shake road-dense illumination}
seconds=${QUALITY_SECONDS:-40}
fault_at=${QUALITY_FAULT_AT:-9}
normal_seconds=${QUALITY_NORMAL_SECONDS:-40}

# clip DIR NAME SECONDS [scenegen options...]: renders (unless there) and analyses one clip.
clip() {
  local dir=$1 name=$2 length=$3
  shift 3
  if [ ! -s "$dir/$name.mp4" ] || [ ! -s "$dir/$name.truth.json" ]; then
    "$scenegen" --size "${QUALITY_SIZE:-640x360}" --fps 10 --seconds "$length" --name "$name" --out "$dir" "$@" \
      > /dev/null
  fi
  "$skynetd" analyze --config "$dir/$name.yaml" --camera "$name" "$dir/$name.mp4" \
    --out "$dir/$name.jsonl" 2> "$dir/$name.log" || { cat "$dir/$name.log" >&2; exit 1; }
}

dirs=()
for seed in ${QUALITY_SEEDS:-1 2 3}; do
  dir=$work/seed-$seed
  mkdir -p "$dir"
  dirs+=("$dir")
  place=0
  for scene in $scenes; do
    place=$((place + 1))
    clip "$dir" "$scene" "$normal_seconds" --scene "$scene" --seed "$seed"
    for fault in $faults; do
      clip "$dir" "$scene-$fault" "$seconds" --scene "$scene" --seed "$seed" --fault "$fault" \
        --fault-at "$fault_at" --fault-seed $((seed * 100 + place))
    done
  done
done
echo "=== seeds ${QUALITY_SEEDS:-1 2 3}: faults at ${fault_at} s of ${seconds} s clips, normal" \
  "scenes ${normal_seconds} s, ${QUALITY_SIZE:-640x360} 10 fps"
"$scorer" --window-s "${QUALITY_WINDOW_S:-30}" "${dirs[@]}"
