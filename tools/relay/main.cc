// skynet-relay: lets a command center subscribe once to many skynetd nodes.
//
//   skynet-relay --feed tcp://0.0.0.0:5556 --replay tcp://0.0.0.0:5557
//       --node gate-1=tcp://10.0.0.11:5556,tcp://10.0.0.11:5557
//       --node gate-2=tcp://10.0.0.12:5556,tcp://10.0.0.12:5557
//
// Feed: an XSUB socket connects to every node's event endpoint and an XPUB socket binds --feed;
// libzmq's proxy (zmq_proxy) forwards events one way and subscriptions the other, on its own
// thread. Events are forwarded as they are: each already names its node (node_id, epoch, seq).
//
// Replay: a ROUTER binds --replay; a ReplayRequest is routed by its node_id (may be empty when the
// relay serves one node) to a DEALER connected to that node's replay endpoint, with the whole
// routing envelope; the node echoes the envelope (daemon/replay_server.h), so its answer goes
// back to the client that asked. Requests the relay cannot route get a ReplayResponse with
// ok=false and an error. One thread polls the ROUTER and all DEALERs.
//
// Threads: every socket is created and bound in main() (so errors are reported before we say
// "ready"), then handed to the one thread that uses it from then on. SIGINT/SIGTERM shut the
// context down: the proxy and the poll loop see ETERM, close their sockets and return; exit 0.
// Exit codes: 0 clean stop, 1 a socket could not be set up, 2 bad arguments.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "skynet/v1/events.pb.h"
#include "skynet/zmq_socket.h"

namespace {

struct NodeSpec {
  std::string name;
  std::string feed;
  std::string replay;  // empty: no replay for this node
};

// "NAME=FEED[,REPLAY]" -> spec; an error message otherwise.
std::optional<std::string> ParseNode(const std::string& text, NodeSpec* spec) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return "--node " + text + ": expected NAME=FEED_ENDPOINT[,REPLAY_ENDPOINT]";
  }
  spec->name = text.substr(0, eq);
  const std::string rest = text.substr(eq + 1);
  const auto comma = rest.find(',');
  spec->feed = rest.substr(0, comma);
  spec->replay = comma == std::string::npos ? "" : rest.substr(comma + 1);
  for (const std::string* e : {&spec->feed, &spec->replay}) {
    if (e == &spec->replay && e->empty() && comma == std::string::npos) continue;
    if (e->find("://") == std::string::npos) {
      return "--node " + text + ": '" + *e + "' is not an endpoint (tcp://, ipc:// or inproc://)";
    }
  }
  return std::nullopt;
}

struct Limits {
  int64_t max_event_bytes = 16 << 20;     // XSUB: one event from a node
  int64_t max_request_bytes = 4096;       // ROUTER: a ReplayRequest is tiny
  int64_t max_response_bytes = 64 << 20;  // DEALER: a ReplayResponse (about 4 MiB by default)
  int64_t max_subscription_bytes = 4096;  // XPUB: a subscription message
};

bool SendAll(zmq::socket_t& socket, std::vector<zmq::message_t>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    const auto flags = (i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none) |
                       zmq::send_flags::dontwait;
    if (!socket.send(frames[i], flags)) return false;
  }
  return true;
}

// Reads one multipart message (at most 16 frames; longer ones are drained and dropped).
bool RecvAll(zmq::socket_t& socket, std::vector<zmq::message_t>* frames) {
  frames->clear();
  bool more = true;
  while (more) {
    zmq::message_t msg;
    if (!socket.recv(msg, zmq::recv_flags::dontwait)) return false;
    more = msg.more();
    if (frames->size() < 16)
      frames->push_back(std::move(msg));
    else if (!more)
      return false;  // too many frames
  }
  return true;
}

class ReplayRouter {
 public:
  ReplayRouter(zmq::socket_t front, std::vector<std::string> names,
               std::vector<zmq::socket_t> backs, int64_t max_request_bytes)
      : front_(std::move(front)),
        names_(std::move(names)),
        backs_(std::move(backs)),
        max_request_bytes_(max_request_bytes) {}

  // Until the context is shut down.
  void Run() {
    // items[0] is the front; items[k + 1] is open_backs[k] (nodes without replay have none:
    // a null socket in a pollitem would mean "poll file descriptor 0").
    std::vector<zmq::pollitem_t> items;
    std::vector<zmq::socket_t*> open_backs;
    items.push_back({front_.handle(), 0, ZMQ_POLLIN, 0});
    for (auto& b : backs_) {
      if (!b) continue;
      items.push_back({b.handle(), 0, ZMQ_POLLIN, 0});
      open_backs.push_back(&b);
    }
    std::vector<zmq::message_t> frames;
    try {
      while (true) {
        if (zmq::poll(items.data(), items.size(), std::chrono::milliseconds(-1)) <= 0) continue;
        if (items[0].revents & ZMQ_POLLIN) {
          while (RecvAll(front_, &frames)) Route(frames);
        }
        for (size_t k = 0; k < open_backs.size(); ++k) {
          if (!(items[k + 1].revents & ZMQ_POLLIN)) continue;
          // [client envelope...][ReplayResponse]: straight back to the client.
          while (RecvAll(*open_backs[k], &frames)) {
            if (frames.size() >= 2) SendAll(front_, frames);
          }
        }
      }
    } catch (const zmq::error_t& e) {
      if (e.num() != ETERM) std::fprintf(stderr, "skynet-relay: replay: %s\n", e.what());
    }
    front_.close();
    for (auto& b : backs_) b.close();
  }

 private:
  void Route(std::vector<zmq::message_t>& frames) {
    if (frames.size() < 2) return;  // no routing id: nobody to answer
    const zmq::message_t& payload = frames.back();
    skynet::v1::ReplayRequest request;
    if (payload.size() > static_cast<size_t>(max_request_bytes_) ||
        !request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return Fail(frames, request,
                  "malformed replay request: not a skynet.v1.ReplayRequest (" +
                      std::to_string(payload.size()) + " bytes)");
    }
    size_t node = names_.size();
    if (request.node_id().empty()) {
      if (names_.size() == 1)
        node = 0;
      else
        return Fail(frames, request, "node_id is required: this relay serves " + List());
    } else {
      for (size_t i = 0; i < names_.size(); ++i) {
        if (names_[i] == request.node_id()) node = i;
      }
      if (node == names_.size()) {
        return Fail(frames, request,
                    "unknown node '" + request.node_id() + "': this relay serves " + List());
      }
    }
    if (!backs_[node]) {
      return Fail(frames, request, "node '" + names_[node] + "' has no replay endpoint");
    }
    // The DEALER queues while the node is away (the client times out and retries, as it would
    // talking to the node directly); only a full queue is refused here.
    if (!SendAll(backs_[node], frames)) {
      return Fail(frames, request, "node '" + names_[node] + "': replay queue full, try later");
    }
  }

  void Fail(std::vector<zmq::message_t>& frames, const skynet::v1::ReplayRequest& request,
            const std::string& error) {
    skynet::v1::ReplayResponse r;
    r.set_request_id(request.request_id());
    r.set_node_id(request.node_id());
    r.set_ok(false);
    r.set_error(error);
    const std::string bytes = r.SerializeAsString();
    frames.back().rebuild(bytes.data(), bytes.size());
    SendAll(front_, frames);
  }

  std::string List() const {
    std::string s;
    for (const auto& n : names_) s += (s.empty() ? "" : ", ") + ("'" + n + "'");
    return std::to_string(names_.size()) + " nodes (" + s + ")";
  }

  zmq::socket_t front_;
  const std::vector<std::string> names_;
  std::vector<zmq::socket_t> backs_;  // per node; a closed socket when it has no replay
  const int64_t max_request_bytes_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"skynet-relay: one feed and one replay endpoint for many skynetd nodes"};
  std::vector<std::string> node_args;
  std::string feed, replay;
  Limits limits;
  int send_hwm = 100000;
  app.add_option("--node", node_args,
                 "NAME=FEED_ENDPOINT[,REPLAY_ENDPOINT]; NAME is the node's node_id (repeatable)")
      ->required();
  app.add_option("--feed", feed, "endpoint to bind for subscribers (XPUB)")->required();
  app.add_option("--replay", replay, "endpoint to bind for replay requests (ROUTER)");
  app.add_option("--max-event-bytes", limits.max_event_bytes, "largest event accepted from a node")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-request-bytes", limits.max_request_bytes, "largest replay request")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-response-bytes", limits.max_response_bytes,
                 "largest replay response accepted from a node")
      ->check(CLI::PositiveNumber);
  app.add_option("--send-hwm", send_hwm, "events queued per subscriber before dropping")
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  std::vector<NodeSpec> nodes;
  for (const std::string& a : node_args) {
    NodeSpec spec;
    if (auto err = ParseNode(a, &spec)) {
      std::fprintf(stderr, "skynet-relay: %s\n", err->c_str());
      return 2;
    }
    for (const NodeSpec& n : nodes) {
      if (n.name == spec.name) {
        std::fprintf(stderr, "skynet-relay: --node %s: node '%s' given twice\n", a.c_str(),
                     spec.name.c_str());
        return 2;
      }
    }
    nodes.push_back(spec);
  }

  // Signals are taken by sigwait() below, never by a ZeroMQ thread (they inherit this mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  zmq::context_t context(1);  // before its sockets
  std::optional<zmq::socket_t> xsub, xpub, front;
  std::vector<zmq::socket_t> backs;
  std::vector<std::string> names;
  std::string step;
  // Every socket: linger 0 and a message size limit (skynet/zmq_socket.h).
  auto setup = [&step](zmq::socket_t& s, skynet::protocol::SocketOptions o) {
    if (skynet::Status st = skynet::protocol::ApplySocketOptions(s, o); !st.ok()) {
      std::fprintf(stderr, "skynet-relay: %s: %s\n", step.c_str(), st.message().c_str());
      return false;
    }
    return true;
  };
  try {
    step = "--feed " + feed;
    xpub.emplace(context, zmq::socket_type::xpub);
    if (!setup(*xpub, {.max_message_bytes = limits.max_subscription_bytes, .send_hwm = send_hwm})) {
      return 1;
    }
    xpub->bind(feed);
    xsub.emplace(context, zmq::socket_type::xsub);
    if (!setup(*xsub, {.max_message_bytes = limits.max_event_bytes, .receive_hwm = send_hwm})) {
      return 1;
    }
    for (const NodeSpec& n : nodes) {
      step = "--node " + n.name + " feed " + n.feed;
      xsub->connect(n.feed);
    }
    if (!replay.empty()) {
      step = "--replay " + replay;
      front.emplace(context, zmq::socket_type::router);
      if (!setup(*front, {.max_message_bytes = limits.max_request_bytes})) return 1;
      front->set(zmq::sockopt::router_mandatory, 0);
      front->bind(replay);
      for (const NodeSpec& n : nodes) {
        names.push_back(n.name);
        backs.emplace_back();  // closed: no replay for this node
        if (n.replay.empty()) continue;
        step = "--node " + n.name + " replay " + n.replay;
        backs.back() = zmq::socket_t(context, zmq::socket_type::dealer);
        if (!setup(backs.back(), {.max_message_bytes = limits.max_response_bytes})) return 1;
        backs.back().connect(n.replay);
      }
    }
  } catch (const zmq::error_t& e) {
    std::fprintf(stderr, "skynet-relay: %s: %s\n", step.c_str(), e.what());
    return 1;
  }

  std::thread feed_thread([s = std::move(*xsub), p = std::move(*xpub)]() mutable {
    try {
      zmq::proxy(s, p);
    } catch (const zmq::error_t& e) {
      if (e.num() != ETERM) std::fprintf(stderr, "skynet-relay: feed: %s\n", e.what());
    }
    s.close();
    p.close();
  });
  std::optional<ReplayRouter> router;
  std::thread replay_thread;
  if (front) {
    router.emplace(std::move(*front), names, std::move(backs), limits.max_request_bytes);
    replay_thread = std::thread([&router] { router->Run(); });
  }
  std::printf("skynet-relay: ready: %zu nodes, feed on %s, replay on %s\n", nodes.size(),
              feed.c_str(), replay.empty() ? "(none)" : replay.c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "skynet-relay: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  context.shutdown();  // the proxy and the poll loop get ETERM and close their sockets
  feed_thread.join();
  if (replay_thread.joinable()) replay_thread.join();
  return 0;
}
