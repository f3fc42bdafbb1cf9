#!/usr/bin/env bash
# Installs the Debian 12 packages skynetd needs to build, test and run the demo.
# Idempotent: only missing packages are installed; needs root (or sudo) when something is missing.
#   tools/install-deps.sh          install what is missing
#   tools/install-deps.sh --list   print the package names, one a line (tools/check-deps.py reads
#                                  them: the build may use nothing a fresh machine lacks)
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools
  libopencv-dev opencv-doc
  libzmq3-dev cppzmq-dev
  libprotobuf-dev protobuf-compiler
  libspdlog-dev libyaml-cpp-dev libcli11-dev libgtest-dev
  libavformat-dev libavcodec-dev libavutil-dev ffmpeg nlohmann-json3-dev
  libsystemd-dev systemd adduser libcpp-httplib-dev libsqlite3-dev
  clang libclang-rt-14-dev lld llvm
  python3-zmq python3-protobuf python3-numpy python3-onnx python3-opencv python3-prometheus-client
)

if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
