// kill -9 of a real skynetd mid-stream, restart: a ReliableSubscriber continues across the epoch
// change and nothing that was journaled is lost.
#include <signal.h>

#include <fstream>

#include <gtest/gtest.h>

#include "daemon/journal.h"
#include "skynet/client/client.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet {
namespace {

using namespace std::chrono_literals;
using testing::BuildPath;
using testing::ChildProcess;
using testing::TempDir;

TEST(SkynetdRestartTest, SubscriberContinuesAcrossKill9WithNothingJournaledLost) {
  TempDir dir;
  const std::string config = dir.File("skynetd.yaml");
  std::ofstream(config) << "node_id: crash-node\n"
                        << "event_endpoint: " << dir.Ipc("feed.sock") << "\n"
                        << "replay_endpoint: " << dir.Ipc("replay.sock") << "\n"
                        << "control_endpoint: " << dir.Ipc("ctl/control.sock") << "\n"
                        << "metrics_endpoint: \"\"\n"  // the default port is shared
                        << "heartbeat_interval_ms: 10\n"  // heartbeats are the event stream
                        << "journal:\n  dir: " << dir.File("journal") << "\n  fsync: none\n"
                        << "cameras: []\n";
  skynet::client::ReliableOptions o;
  o.feed_endpoint = dir.Ipc("feed.sock");
  o.replay_endpoint = dir.Ipc("replay.sock");
  o.replay_timeout_ms = 2000;
  auto sub = skynet::client::ReliableSubscriber::Connect(o);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();

  std::vector<std::pair<uint64_t, uint64_t>> seen;  // (epoch, seq) in delivery order
  int losses = 0;
  auto pump_until = [&](const std::function<bool()>& done) {
    return testing::WaitFor(
        [&] {
          auto d = sub->Next(50);
          if (d.ok() && d->has_value()) {
            if ((*d)->event) {
              seen.emplace_back((*d)->event->epoch(), (*d)->event->seq());
            } else {
              ++losses;
              ADD_FAILURE() << "data loss: " << (*d)->loss.ShortDebugString();
            }
          }
          return done();
        },
        60s, 0ms);
  };

  uint64_t first_epoch = 0;
  {
    ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", config},
                        dir.File("skynetd-1.log"));
    ASSERT_TRUE(daemon.started());
    ASSERT_TRUE(pump_until([&] { return seen.size() >= 30; }));
    first_epoch = seen.front().first;
    ASSERT_EQ(::kill(daemon.pid(), SIGKILL), 0);
    daemon.Wait(10s);
  }
  // Events the subscriber has not read yet may still be queued; the daemon is gone.
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", config},
                      dir.File("skynetd-2.log"));
  ASSERT_TRUE(daemon.started());
  ASSERT_TRUE(pump_until([&] { return seen.back().first != first_epoch && seen.back().second >= 30; }));
  EXPECT_EQ(daemon.SignalAndWait(SIGTERM, 10s), 0);

  // One contiguous run in the first epoch, then the second epoch from seq 1.
  size_t i = 1;
  for (; i < seen.size() && seen[i].first == first_epoch; ++i) {
    ASSERT_EQ(seen[i].second, seen[i - 1].second + 1) << "at " << i;
  }
  const uint64_t last_old = seen[i - 1].second;
  ASSERT_LT(i, seen.size());
  EXPECT_GT(seen[i].first, first_epoch);
  EXPECT_EQ(seen[i].second, 1u);
  for (++i; i < seen.size(); ++i) ASSERT_EQ(seen[i].second, seen[i - 1].second + 1);
  EXPECT_EQ(losses, 0);

  // Everything the first run journaled reached the subscriber.
  auto journal = daemon::Journal::Open({.dir = dir.File("journal")});
  ASSERT_TRUE(journal.ok());
  auto epochs = (*journal)->Epochs();
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_EQ(epochs[0].epoch, first_epoch);
  EXPECT_EQ(epochs[0].last_seq, last_old);
}

}  // namespace
}  // namespace skynet
