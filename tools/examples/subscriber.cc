// A gap-free skynetd event subscriber in C++, on libskynet-client (docs/integration.md §7): the
// C++ counterpart of skynet_subscriber.py, and what an integrator's program starts from.
//
//   skynet-example-subscriber tcp://127.0.0.1:5556 tcp://127.0.0.1:5557   # feed, replay
//   skynet-example-subscriber FEED REPLAY --from 1732800000000000:41       # resume after it
//   skynet-example-subscriber FEED REPLAY --key me.key --server-key node.pub   # CurveZMQ
//   skynet-example-subscriber --version
//
// Prints one line per event ("EVENT node epoch seq category camera") and one per loss ("LOSS node
// epoch first..last reason"), like the Python example. Builds against the installed library:
//   c++ -std=c++20 subscriber.cc $(pkg-config --cflags --libs skynet-client)
#include <cstdio>
#include <string>
#include <vector>

#include "skynet/client/client.h"
#include "skynet/client/version.h"
#include "skynet/keys.h"
#include "skynet/protocol.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: skynet-example-subscriber FEED [REPLAY] [--from EPOCH:SEQ] "
               "[--key FILE --server-key KEY_OR_FILE] | --version\n");
  return 2;
}

int Fail(const skynet::Status& status) {
  std::fprintf(stderr, "skynet-example-subscriber: %s\n", status.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  namespace client = skynet::client;
  std::vector<std::string> positional;
  std::string from, key_file, server_key;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--version") {
      std::printf("libskynet-client %s (headers %s)\n", client::Version(), SKYNET_CLIENT_VERSION);
      return 0;
    }
    if (arg == "--from" || arg == "--key" || arg == "--server-key") {
      if (i + 1 == argc) return Usage();
      (arg == "--from" ? from : arg == "--key" ? key_file : server_key) = argv[++i];
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.empty() || positional.size() > 2) return Usage();

  client::ReliableOptions options;
  options.feed_endpoint = positional[0];
  if (positional.size() == 2) options.replay_endpoint = positional[1];
  if (!from.empty()) {
    skynet::Result<client::FeedPosition> position = client::ParseFeedPosition(from);
    if (!position) return Fail(position.status());
    options.from = *position;
  }
  if (!key_file.empty() || !server_key.empty()) {
    skynet::Result<skynet::keys::KeyPair> pair = skynet::keys::LoadKeyPair(key_file);
    if (!pair) return Fail(pair.status());
    skynet::Result<std::string> server = skynet::keys::LoadPublicKey(server_key);
    if (!server) return Fail(server.status());
    options.curve = {*server, pair->public_key, pair->secret_key};
  }

  skynet::Result<client::ReliableSubscriber> feed = client::ReliableSubscriber::Connect(options);
  if (!feed) return Fail(feed.status());
  for (;;) {
    skynet::Result<std::optional<client::Delivery>> next = feed->Next(-1);
    if (!next) return Fail(next.status());
    if (!*next) continue;  // interrupted wait
    const client::Delivery& d = **next;
    if (d.event) {
      const skynet::v1::Event& e = *d.event;
      std::printf(
          "EVENT %s %llu %llu %s %s\n", e.node_id().c_str(),
          static_cast<unsigned long long>(e.epoch()), static_cast<unsigned long long>(e.seq()),
          skynet::protocol::CategoryName(skynet::protocol::CategoryOf(e)), e.camera_id().c_str());
    } else {
      std::printf("LOSS %s %llu %llu..%llu %s\n", d.loss.node_id().c_str(),
                  static_cast<unsigned long long>(d.loss.epoch()),
                  static_cast<unsigned long long>(d.loss.first_seq()),
                  static_cast<unsigned long long>(d.loss.last_seq()),
                  skynet::v1::GapReason_Name(d.loss.reason()).c_str());
    }
    std::fflush(stdout);
  }
}
