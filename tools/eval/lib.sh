# Shared start of tools/eval/run-follow-eval.sh and run-quality-eval.sh; sourced, not run.
#   eval_start NAME BUILD_DIR_ARG KEEP_DIR SCORER: sets `build` (BUILD_DIR_ARG, else the repo's
#   build/), `skynetd`, `scenegen` and `scorer` (tools/eval/SCORER) and exits 2 naming the first
#   that is not built; sets `work` to KEEP_DIR (kept) or to a temporary directory removed at exit.
eval_start() {
  local name=$1 build_arg=$2 keep=$3 scorer_name=$4
  local repo
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  build=$(cd "${build_arg:-$repo/build}" && pwd)
  skynetd=$build/daemon/skynetd
  scenegen=$build/tools/scenegen/skynet-scenegen
  scorer=$build/tools/eval/$scorer_name
  local b
  for b in "$skynetd" "$scenegen" "$scorer"; do
    [ -x "$b" ] || { echo "$name: $b is not built" >&2; exit 2; }
  done
  work=${keep:-$(mktemp -d "/tmp/skynet-$name.XXXXXX")}
  mkdir -p "$work"
  [ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
}
