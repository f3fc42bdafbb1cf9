#!/bin/sh
# Installs the client package (cmake --install) into a temporary prefix, then builds and runs a
# tiny program and the C++ example (tools/examples/subscriber.cc) against the installed copy,
# with nothing but `pkg-config --cflags --libs skynet-client`.
#   client_install_test.sh BUILD_DIR SOURCE_DIR CXX VERSION [EXTRA_CXXFLAGS]
set -eu
build=$1 src=$2 cxx=$3 version=$4 extra=${5:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/skynet-install-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "client_install_test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log" || {
  cat "$tmp/install.log"; fail "cmake --install failed"; }
pc=$(find "$tmp/prefix" -name skynet-client.pc)
[ -n "$pc" ] || fail "no skynet-client.pc installed"
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
flags=$(pkg-config --cflags --libs skynet-client) || fail "pkg-config cannot use $pc"
[ "$(pkg-config --modversion skynet-client)" = "$version" ] || fail "pc version is not $version"
# Everything must come from the installed copy, never from the tree.
case "$flags" in *"$src"*|*"$build"*) fail "pkg-config points into the tree: $flags";; esac
for h in skynet/client/client.h skynet/client/version.h skynet/keys.h skynet/protocol.h \
         skynet/zmq_socket.h skynet/v1/events.pb.h skynet/v1/control.pb.h pipeline/core/status.h; do
  [ -f "$tmp/prefix/include/skynet/$h" ] || fail "not installed: include/skynet/$h"
done

cat > "$tmp/app.cc" <<'PROGRAM'
#include <cstdio>
#include <string>

#include "skynet/client/client.h"
#include "skynet/client/version.h"
#include "skynet/keys.h"
#include "skynet/protocol.h"

int main(int argc, char** argv) {
  // The library linked, and the headers, have the package's version.
  std::printf("version %s %s\n", skynet::client::Version(), SKYNET_CLIENT_VERSION);
  // Keys: written and read back through the installed library.
  const std::string base = std::string(argv[1]) + "/app";
  skynet::Result<skynet::keys::KeyPair> pair = skynet::keys::GenerateKeyPair();
  if (!pair || !skynet::keys::WriteKeyFiles(base, *pair).ok()) return 1;
  skynet::Result<skynet::keys::KeyPair> loaded = skynet::keys::LoadKeyPair(base + ".key");
  skynet::Result<std::string> pub = skynet::keys::LoadPublicKey(base + ".pub");
  if (!loaded || !pub || *pub != pair->public_key) return 2;
  std::printf("key %s\n", skynet::keys::IsZ85Key(*pub) ? "ok" : "bad");
  // Protocol: a topic and an event id.
  skynet::v1::Event ev;
  ev.set_camera_id("cam1");
  ev.mutable_motion_started();
  skynet::protocol::StampEnvelope("n1", 5, 7, &ev);
  std::printf("topic %s id %s\n", skynet::protocol::TopicFor(ev).c_str(), ev.event_id().c_str());
  // Client: a subscriber on an endpoint nobody serves waits and returns empty.
  skynet::client::ReliableOptions options;
  options.feed_endpoint = "ipc://" + std::string(argv[1]) + "/feed.sock";
  skynet::Result<skynet::client::ReliableSubscriber> sub =
      skynet::client::ReliableSubscriber::Connect(options);
  if (!sub) return 3;
  skynet::Result<std::optional<skynet::client::Delivery>> next = sub->Next(10);
  std::printf("subscriber %s\n", next && !*next ? "ok" : "bad");
  return 0;
}
PROGRAM
# shellcheck disable=SC2086  # $flags and $extra are word lists
"$cxx" -std=c++20 $extra "$tmp/app.cc" -o "$tmp/app" $flags || fail "app does not build"
out=$("$tmp/app" "$tmp") || fail "app failed: $out"
expected="version $version $version
key ok
topic motion/cam1 id n1/5/7
subscriber ok"
[ "$out" = "$expected" ] || fail "app printed:
$out
expected:
$expected"

# shellcheck disable=SC2086
"$cxx" -std=c++20 $extra "$src/tools/examples/subscriber.cc" -o "$tmp/subscriber" $flags ||
  fail "tools/examples/subscriber.cc does not build against the installed copy"
"$tmp/subscriber" --version | grep -q "libskynet-client $version" || fail "example --version"
echo "client_install_test: ok ($tmp/prefix, $(echo "$flags" | wc -w) flags)"
