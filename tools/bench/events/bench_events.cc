// skynet-bench-events: the event feed's cost. Prints events/s for small events through the bus
// without a journal (the baseline: raw PUB) and with the journal (fsync interval), the ratio,
// publish-to-receive latency p50/p99 at a steady 20 000 events/s, and replay throughput.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "daemon/event_bus.h"
#include "daemon/journal.h"
#include "daemon/replay_server.h"
#include "pipeline/core/logging.h"

namespace skynet::daemon {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

v1::Event Small(int i) {
  v1::Event ev;
  ev.set_camera_id("cam" + std::to_string(i % 8));
  auto* m = ev.mutable_motion_updated();
  m->set_motion_id(static_cast<uint64_t>(i));
  m->set_changed_fraction(0.05f);
  auto* r = m->add_regions();
  r->mutable_box()->set_x(0.1f);
  r->mutable_box()->set_w(0.2f);
  r->set_fill(0.5f);
  return ev;
}

struct Run {
  double events_per_s = 0;
  std::vector<int64_t> latencies_us;
};

// Publishes `n` events (paced at `rate` per second if > 0) and receives them on a SUB socket.
Run Measure(const std::string& dir, bool journal_on, int n, double rate) {
  std::filesystem::create_directories(dir);
  std::unique_ptr<Journal> journal;
  if (journal_on) journal = Journal::Open({.dir = dir + "/journal"}).value();
  EventBusOptions o;
  o.endpoint = "ipc://" + dir + "/feed";
  o.heartbeat_interval_ms = 0;
  o.send_hwm = 0;  // unbounded: measure the path, not drops
  o.journal = journal.get();
  auto bus = EventBus::Create(o).value();
  zmq::context_t ctx(1);
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  sub.set(zmq::sockopt::rcvhwm, 0);
  sub.set(zmq::sockopt::subscribe, "");
  sub.connect(o.endpoint);
  // Slow joiner: publish probes until one arrives.
  zmq::message_t t, b;
  sub.set(zmq::sockopt::rcvtimeo, 50);
  int probes = 0;
  do {
    bus->Publish(Small(-1));
    ++probes;
  } while (!sub.recv(t) || !sub.recv(b));
  sub.set(zmq::sockopt::rcvtimeo, 100);
  while (sub.recv(t)) (void)sub.recv(b);  // drain late probes
  Run run;
  run.latencies_us.reserve(n);
  const auto start = Clock::now();
  std::thread producer([&] {
    for (int i = 0; i < n; ++i) {
      if (rate > 0) {
        const auto due = start + std::chrono::microseconds(static_cast<int64_t>(i * 1e6 / rate));
        while (Clock::now() < due) {
        }
      }
      v1::Event ev = Small(i);
      ev.set_capture_time_us(NowUs());  // the publish call time, read back by the receiver
      bus->Publish(std::move(ev));
    }
  });
  sub.set(zmq::sockopt::rcvtimeo, 5000);
  v1::Event ev;
  for (int got = 0; got < n;) {
    if (!sub.recv(t) || !sub.recv(b)) break;
    ev.ParseFromArray(b.data(), static_cast<int>(b.size()));
    run.latencies_us.push_back(NowUs() - ev.capture_time_us());
    ++got;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  producer.join();
  run.events_per_s = run.latencies_us.size() / secs;
  bus->Stop();
  return run;
}

int64_t Percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

double ReplayThroughput(const std::string& dir) {
  auto journal = Journal::Open({.dir = dir + "/journal"}).value();
  ReplayServerOptions ro;
  ro.endpoint = "ipc://" + dir + "/replay";
  ro.max_events_per_second = 1e9;  // unthrottled: the raw cost
  auto server = ReplayServer::Create(ro, journal.get()).value();
  const uint64_t epoch = journal->Epochs().front().epoch;
  zmq::context_t ctx(1);
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  dealer.connect(ro.endpoint);
  uint64_t events = 0, after = 0;
  const auto start = Clock::now();
  for (;;) {
    v1::ReplayRequest req;
    req.set_epoch(epoch);
    req.set_after_seq(after);
    dealer.send(zmq::message_t(), zmq::send_flags::sndmore);
    dealer.send(zmq::buffer(req.SerializeAsString()));
    zmq::message_t e, body;
    (void)dealer.recv(e);
    (void)dealer.recv(body);
    v1::ReplayResponse resp;
    resp.ParseFromArray(body.data(), static_cast<int>(body.size()));
    events += resp.items_size();
    after = resp.next_seq();
    if (resp.end_of_journal()) break;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  server->Stop();
  return events / secs;
}

int Main() {
  SetLogLevel("warn");
  char tmpl[] = "/tmp/skynet-bench-events.XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  constexpr int kEvents = 300'000;
  Run base = Measure(dir + "/base", false, kEvents, 0);
  Run jrn = Measure(dir, true, kEvents, 0);
  std::printf("events: %d small events (%zu bytes each)\n", kEvents, Small(1).ByteSizeLong() + 40);
  std::printf("baseline (PUB, no journal): %.0f events/s\n", base.events_per_s);
  std::printf("journal + PUB (fsync interval): %.0f events/s, ratio to baseline %.2f\n",
              jrn.events_per_s, jrn.events_per_s / base.events_per_s);
  Run paced_base = Measure(dir + "/base2", false, 20'000, 20'000);
  Run paced = Measure(dir + "/j2", true, 20'000, 20'000);
  std::printf("publish latency at 20000 events/s: journal p50 %lld us, p99 %lld us; "
              "baseline p50 %lld us, p99 %lld us\n",
              static_cast<long long>(Percentile(paced.latencies_us, 0.50)),
              static_cast<long long>(Percentile(paced.latencies_us, 0.99)),
              static_cast<long long>(Percentile(paced_base.latencies_us, 0.50)),
              static_cast<long long>(Percentile(paced_base.latencies_us, 0.99)));
  const double replay = ReplayThroughput(dir);
  std::printf("replay (unthrottled, 1000 events per request): %.0f events/s, ratio to live %.2f\n",
              replay, replay / jrn.events_per_s);
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace skynet::daemon

int main() { return skynet::daemon::Main(); }
