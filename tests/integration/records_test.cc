// Vehicle records end to end (issue 16 item 3): a real skynetd on camsim's traffic camera with
// vehicles enabled and a counting line; every finished track must come out as a vehicle_record
// on the feed (topic record/<camera>) and as a row of the SQLite record store, which a search
// by camera and line then finds.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <set>
#include <string>

#include "daemon/record_store.h"
#include "skynet/client/client.h"
#include "tests/testing/camsim.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet {
namespace {

using namespace std::chrono_literals;
using testing::BuildPath;
using testing::ChildProcess;
using testing::ReadFile;
using testing::TempDir;

TEST(RecordsTest, FinishedTracksAreRecordedOnTheFeedAndInTheDatabase) {
  TempDir dir;
  testing::Camsim sim_run =
      testing::StartCamsim(dir, {"--port", "0", "--loop-seconds", "8", "--size", "640x360", "--fps",
                                 "10", "--traffic", "1", "--log-level", "warn"});
  const std::vector<std::string> urls = sim_run.ready.urls;
  ASSERT_EQ(urls.size(), 1u) << "camsim did not print its URL and ready";
  const std::string db = dir.File("records.db");
  std::ofstream(dir.File("skynetd.yaml"))
      << "node_id: records-node\n"
      << "event_endpoint: " << dir.Ipc("feed.sock") << "\n"
      << "control_endpoint: " << dir.Ipc("control.sock") << "\n"
      << "metrics_endpoint: \"\"\n"
      << "records:\n  path: " << db << "\n"
      << "cameras:\n  - id: cam0\n    url: " << urls[0] << "\n"
      << "    analytics_fps: 10\n"
      << "    vehicles:\n      enabled: true\n"
      << "      rules:\n        lines: [{id: middle, a: [0.5, 0.0], b: [0.5, 1.0]}]\n";
  auto feed = client::FeedSubscriber::Connect(dir.Ipc("feed.sock"), {"record/", "traffic/"});
  ASSERT_TRUE(feed.ok());
  ChildProcess daemon(BuildPath("daemon/skynetd"), {"--config", dir.File("skynetd.yaml")},
                      dir.File("skynetd.log"));
  ASSERT_TRUE(daemon.started());

  // Records on the feed, until one has crossed the line (traffic goes by within a loop or two).
  std::vector<v1::Event> records;
  std::set<uint64_t> crossed;  // track ids of line_crossed events
  bool with_crossing = false;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!with_crossing && std::chrono::steady_clock::now() < deadline) {
    auto ev = feed->Next(500);
    ASSERT_TRUE(ev.ok()) << ev.status().message();
    if (!*ev) continue;
    if ((*ev)->has_line_crossed()) crossed.insert((*ev)->line_crossed().track_id());
    if (!(*ev)->has_vehicle_record()) continue;
    records.push_back(**ev);
    const v1::VehicleRecord& r = (*ev)->vehicle_record();
    EXPECT_EQ((*ev)->node_id(), "records-node");
    EXPECT_EQ((*ev)->camera_id(), "cam0");
    EXPECT_GT(r.last_seen_us(), 0);
    EXPECT_GE(r.last_seen_us(), r.first_seen_us());
    if (crossed.count(r.track_id())) {
      ASSERT_GT(r.crossings_size(), 0) << "track " << r.track_id() << " crossed, not recorded";
      EXPECT_EQ(r.crossings(0).line_id(), "middle");
      EXPECT_NE(r.crossings(0).direction(), 0);
      with_crossing = true;
    }
  }
  ASSERT_TRUE(with_crossing) << records.size() << " records, " << crossed.size()
                             << " tracks crossed\n"
                             << ReadFile(dir.File("skynetd.log"));

  // The same records in the database (read while the daemon writes: WAL).
  auto store = daemon::RecordStore::Open({.path = db});
  ASSERT_TRUE(store.ok()) << store.status().message();
  daemon::RecordQuery q;
  q.cameras = {"cam0"};
  q.line_id = "middle";
  std::vector<daemon::StoredRecord> found;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto r = (*store)->Query(q);
        if (r.ok()) found = *r;
        return !found.empty();
      },
      60s));
  EXPECT_EQ(found.front().node_id, "records-node");
  EXPECT_EQ(found.front().camera_id, "cam0");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto n = (*store)->Count();
        return n.ok() && *n >= static_cast<int64_t>(records.size());
      },
      60s));

  // The same search through the control socket (read role), newest first, paged.
  auto control = client::ControlClient::Connect(dir.Ipc("control.sock"), 10000);
  ASSERT_TRUE(control.ok());
  v1::Request search;
  search.mutable_search()->add_camera_ids("cam0");
  search.mutable_search()->set_line_id("middle");
  search.mutable_search()->set_limit(1);
  auto answer = control->Call(search);
  ASSERT_TRUE(answer.ok()) << answer.status().message();
  ASSERT_TRUE(answer->ok()) << answer->error();
  ASSERT_EQ(answer->search().records_size(), 1);
  EXPECT_EQ(answer->search().records(0).camera_id(), "cam0");
  EXPECT_EQ(answer->search().records(0).record().crossings(0).line_id(), "middle");
  // Traffic goes on crossing the line while the test reads: `more` answers for the records that
  // were there at the search, between those in the database before it and after it.
  auto after = (*store)->Query(q);
  ASSERT_TRUE(after.ok()) << after.status().message();
  if (found.size() > 1) {
    EXPECT_TRUE(answer->search().more());
  }
  if (after->size() <= 1) {
    EXPECT_FALSE(answer->search().more());
  }
  search.mutable_search()->set_limit(0);
  search.mutable_search()->set_vehicle_class(v1::VEHICLE_CLASS_PERSON);
  search.mutable_search()->set_min_speed_kmh(500);
  answer = control->Call(search);
  ASSERT_TRUE(answer.ok() && answer->ok());
  EXPECT_EQ(answer->search().records_size(), 0);

  // skynetctl search: a table, header first, one row per record of that line.
  const testing::ToolRun ctl =
      testing::RunSkynetctl(dir, dir.Ipc("control.sock"),
                            {"search", "--camera", "cam0", "--line", "middle", "--limit", "1000"});
  ASSERT_EQ(ctl.code, 0) << ctl.err;
  std::vector<std::string> table;
  for (size_t at = 0, nl; (nl = ctl.out.find('\n', at)) != std::string::npos; at = nl + 1) {
    table.push_back(ctl.out.substr(at, nl - at));
  }
  ASSERT_GE(table.size(), 2u);
  EXPECT_EQ(table[0].rfind("LAST SEEN", 0), 0u) << table[0];
  EXPECT_NE(table[1].find("cam0"), std::string::npos) << table[1];
  EXPECT_NE(table[1].find("middle"), std::string::npos) << table[1];

  EXPECT_EQ(daemon.SignalAndWait(SIGTERM, 60s), 0);
  EXPECT_NE(ReadFile(dir.File("skynetd.log")).find("records:"), std::string::npos);
}

}  // namespace
}  // namespace skynet
