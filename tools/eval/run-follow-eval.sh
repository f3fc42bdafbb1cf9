#!/bin/bash
# run-follow-eval.sh [BUILD_DIR]: search and follow on a multi-camera scene set (issue 16 item 7,
# docs/evidence.md "Measured"). skynet-scenegen renders FOLLOW_CAMERAS (3) cameras
# FOLLOW_SPACING (100) m apart down one road (road-day, 640x360, FOLLOW_SECONDS (30) s, 10 fps)
# for each seed of FOLLOW_SEEDS ("1 2 4 5 6 7": the rules were tuned on 1, 2, 4 and 5; 6 and 7
# are held out: report them, never tune on them);
# skynetd analyze --records stores every camera's records in one database per seed;
# skynet-follow-eval prints search precision/recall and
# follow's top-1 rate (analytics at 10 fps, detect width 320). FOLLOW_DIR: keep the files there (else a temp dir, removed).
set -euo pipefail

. "$(dirname "$0")/lib.sh"
eval_start run-follow-eval "${1:-}" "${FOLLOW_DIR:-}" skynet-follow-eval
cameras=${FOLLOW_CAMERAS:-3}

for seed in ${FOLLOW_SEEDS:-1 2 4 5 6 7}; do
  dir=$work/seed-$seed
  mkdir -p "$dir"
  rm -f "$dir/records.db"
  "$scenegen" --scene road-day --cameras "$cameras" --spacing "${FOLLOW_SPACING:-100}" \
    --seconds "${FOLLOW_SECONDS:-30}" --fps 10 --size 640x360 --seed "$seed" --out "$dir" > /dev/null
  for ((k = 0; k < cameras; k++)); do
    cam=road-day-cam$k
    "$skynetd" analyze --config "$dir/road-day-set.yaml" --camera "$cam" "$dir/$cam.mp4" \
      --out "$dir/$cam.jsonl" --records "$dir/records.db" 2> "$dir/$cam.log" ||
      { cat "$dir/$cam.log" >&2; exit 1; }
  done
  echo "=== seed $seed: $cameras cameras, ${FOLLOW_SPACING:-100} m apart, ${FOLLOW_SECONDS:-30} s"
  "$scorer" --set "$dir/road-day-set.json" --records "$dir/records.db" \
    --config "$dir/road-day-set.yaml" || true
  echo
done
