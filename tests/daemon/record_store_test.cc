// The vehicle record store on a real SQLite file in a temp dir, its writer thread, and the
// collector that turns ended tracks into records.
#include "daemon/record_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include "daemon/evidence_store.h"
#include "daemon/record_collector.h"
#include "pipeline/core/clock.h"
#include "tests/testing/recording_event_sink.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet::daemon {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kT0 = 1'800'000'000'000'000;  // some time in 2027

StoredRecord MakeStored(const std::string& camera, uint64_t track, int64_t last_us,
                        v1::VehicleClass cls, v1::VehicleColour colour, float speed,
                        const std::string& line = "", int direction = 0) {
  StoredRecord s;
  s.node_id = "node-1";
  s.camera_id = camera;
  s.record.set_track_id(track);
  s.record.set_first_seen_us(last_us - 5'000'000);
  s.record.set_last_seen_us(last_us);
  s.record.set_vehicle_class(cls);
  s.record.set_colour(colour);
  s.record.set_speed_kmh(speed);
  s.record.mutable_size()->set_length_m(4.5f);
  if (!line.empty()) {
    v1::RecordCrossing* c = s.record.add_crossings();
    c->set_line_id(line);
    c->set_direction(direction);
    c->set_time_us(last_us - 1'000'000);
  }
  return s;
}

// Five records over five minutes on two cameras.
std::vector<StoredRecord> Sample() {
  return {
      MakeStored("cam1", 1, kT0 + 0 * kMinute, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
                 50, "L1", +1),
      MakeStored("cam1", 2, kT0 + 1 * kMinute, v1::VEHICLE_CLASS_TRUCK, v1::VEHICLE_COLOUR_RED,
                 70, "L1", -1),
      MakeStored("cam2", 3, kT0 + 2 * kMinute, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_BLACK,
                 90, "L2", +1),
      MakeStored("cam2", 4, kT0 + 3 * kMinute, v1::VEHICLE_CLASS_BUS, v1::VEHICLE_COLOUR_WHITE,
                 -1),
      MakeStored("cam1", 5, kT0 + 4 * kMinute, v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE,
                 65, "L1", +1),
  };
}

std::vector<uint64_t> Tracks(const Result<std::vector<StoredRecord>>& r) {
  std::vector<uint64_t> out;
  if (!r.ok()) {
    ADD_FAILURE() << r.status().message();
    return out;
  }
  for (const StoredRecord& s : *r) out.push_back(s.record.track_id());
  return out;
}

std::unique_ptr<RecordStore> OpenOrDie(const RecordStoreOptions& o) {
  auto store = RecordStore::Open(o);
  EXPECT_TRUE(store.ok()) << store.status().message();
  return store.ok() ? std::move(store).value() : nullptr;
}

TEST(RecordStoreTest, InsertsABatchAndReadsItBackNewestFirst) {
  TempDir dir;
  auto store = OpenOrDie({.path = dir.File("records.db")});
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Insert(Sample()).ok());
  EXPECT_EQ(*store->Count(), 5);
  auto all = store->Query({});
  EXPECT_EQ(Tracks(all), (std::vector<uint64_t>{5, 4, 3, 2, 1}));
  const StoredRecord& newest = all->front();
  EXPECT_EQ(newest.node_id, "node-1");
  EXPECT_EQ(newest.camera_id, "cam1");
  EXPECT_FLOAT_EQ(newest.record.size().length_m(), 4.5f);
  ASSERT_EQ(newest.record.crossings_size(), 1);
  EXPECT_EQ(newest.record.crossings(0).line_id(), "L1");
}

TEST(RecordStoreTest, EachFilterSelectsItsRecords) {
  TempDir dir;
  auto store = OpenOrDie({.path = dir.File("records.db")});
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Insert(Sample()).ok());
  RecordQuery q;
  q.from_us = kT0 + 1 * kMinute;
  q.to_us = kT0 + 3 * kMinute;
  EXPECT_EQ(Tracks(store->Query(q)), (std::vector<uint64_t>{4, 3, 2}));
  q = {};
  q.cameras = {"cam2"};
  EXPECT_EQ(Tracks(store->Query(q)), (std::vector<uint64_t>{4, 3}));
  q.cameras = {"cam2", "cam1"};
  EXPECT_EQ(Tracks(store->Query(q)).size(), 5u);
  q = {};
  q.vehicle_class = v1::VEHICLE_CLASS_CAR;
  EXPECT_EQ(Tracks(store->Query(q)), (std::vector<uint64_t>{5, 3, 1}));
  q = {};
  q.colour = v1::VEHICLE_COLOUR_WHITE;
  EXPECT_EQ(Tracks(store->Query(q)), (std::vector<uint64_t>{5, 4, 1}));
  q = {};
  q.line_id = "L1";
  EXPECT_EQ(Tracks(store->Query(q)), (std::vector<uint64_t>{5, 2, 1}));
  q.direction = +1;
  EXPECT_EQ(Tracks(store->Query(q)), (std::vector<uint64_t>{5, 1}));
  q.direction = -1;
  EXPECT_EQ(Tracks(store->Query(q)), (std::vector<uint64_t>{2}));
  q = {};
  q.min_speed_kmh = 65;
  EXPECT_EQ(Tracks(store->Query(q)), (std::vector<uint64_t>{5, 3, 2}));
  q = {};
  q.vehicle_class = v1::VEHICLE_CLASS_CAR;
  q.colour = v1::VEHICLE_COLOUR_WHITE;
  q.cameras = {"cam1"};
  EXPECT_EQ(Tracks(store->Query(q)), (std::vector<uint64_t>{5, 1}));
  // Paging.
  q = {};
  q.limit = 2;
  EXPECT_EQ(Tracks(store->Query(q)), (std::vector<uint64_t>{5, 4}));
  q.offset = 2;
  EXPECT_EQ(Tracks(store->Query(q)), (std::vector<uint64_t>{3, 2}));
  q.offset = 4;
  EXPECT_EQ(Tracks(store->Query(q)), (std::vector<uint64_t>{1}));
}

TEST(RecordStoreTest, RetentionDeletesOldRecordsAndTheirCrossings) {
  TempDir dir;
  auto store = OpenOrDie({.path = dir.File("records.db"), .retention_days = 1});
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Insert(Sample()).ok());
  // A day and two and a half minutes after kT0: records 1, 2 and 3 are older than a day.
  auto deleted = store->ApplyRetention(kT0 + 86400'000'000 + 2 * kMinute + kMinute / 2);
  ASSERT_TRUE(deleted.ok()) << deleted.status().message();
  EXPECT_EQ(deleted->deleted, 3);
  EXPECT_EQ(Tracks(store->Query({})), (std::vector<uint64_t>{5, 4}));
  RecordQuery q;
  q.line_id = "L2";
  EXPECT_TRUE(Tracks(store->Query(q)).empty());
}

TEST(RecordStoreTest, RetentionKeepsAtMostMaxRecordsNewestFirst) {
  TempDir dir;
  auto store = OpenOrDie({.path = dir.File("records.db"), .retention_days = 0, .max_records = 2});
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Insert(Sample()).ok());
  EXPECT_EQ(store->ApplyRetention(kT0)->deleted, 3);
  EXPECT_EQ(Tracks(store->Query({})), (std::vector<uint64_t>{5, 4}));
}

TEST(RecordStoreTest, RecordsSurviveReopening) {
  TempDir dir;
  {
    auto store = OpenOrDie({.path = dir.File("records.db")});
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->Insert(Sample()).ok());
  }
  auto store = OpenOrDie({.path = dir.File("records.db")});
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->Count(), 5);
}

TEST(RecordStoreTest, ADamagedFileIsAClearErrorNamingThePath) {
  TempDir dir;
  const std::string path = dir.File("records.db");
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(8192, 'x');  // not an SQLite header
  }
  auto store = RecordStore::Open({.path = path});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("records database " + path), std::string::npos)
      << store.status().message();
  EXPECT_NE(store.status().message().find("not a database"), std::string::npos)
      << store.status().message();
}

TEST(RecordStoreTest, AnUnwritableDirectoryIsAClearErrorNamingThePath) {
  TempDir dir;
  const std::string path = dir.File("missing/records.db");
  auto store = RecordStore::Open({.path = path});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("records database " + path), std::string::npos)
      << store.status().message();
}

TEST(RecordStoreTest, ADatabaseWithoutTheFilesTableGetsItFromItsRecords) {
  TempDir dir;
  const std::string path = dir.File("records.db");
  {
    auto store = OpenOrDie({.path = path});
    ASSERT_TRUE(store);
    StoredRecord r = Sample()[0];
    r.record.add_snapshot_files("cam1/snapshots/2027-01-15/track-1-5-crop.jpg");
    r.record.set_clip_file("cam1/clips/2027-01-15/080000-rule-t1.mp4");
    ASSERT_TRUE(store->Insert({r}).ok());
  }
  // As an earlier version left it: no files table.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE files", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = OpenOrDie({.path = path});
  ASSERT_TRUE(store);
  auto named = store->NamedFiles();
  ASSERT_TRUE(named.ok()) << named.status().message();
  std::sort(named->begin(), named->end());
  EXPECT_EQ(*named, (std::vector<std::pair<std::string, bool>>{
                        {"cam1/clips/2027-01-15/080000-rule-t1.mp4", false},
                        {"cam1/snapshots/2027-01-15/track-1-5-crop.jpg", true}}));
}

TEST(RecordWriterTest, WritesQueuedRecordsOnItsThread) {
  TempDir dir;
  const std::string path = dir.File("records.db");
  {
    RecordWriter writer(OpenOrDie({.path = path}), {});
    for (StoredRecord& s : Sample()) EXPECT_TRUE(writer.Add(std::move(s)));
    EXPECT_TRUE(testing::WaitFor([&] { return writer.stats().written == 5; }, 10s));
  }
  auto store = OpenOrDie({.path = path});
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->Count(), 5);
}

TEST(RecordWriterTest, WithoutADatabaseEveryRecordIsCountedLost) {
  RecordWriter writer(nullptr, {});
  for (StoredRecord& s : Sample()) EXPECT_FALSE(writer.Add(std::move(s)));
  EXPECT_EQ(writer.stats().lost_errors, 5u);
  EXPECT_EQ(writer.stats().written, 0u);
}

TEST(RecordWriterTest, AFullQueueLosesRecordsAndCountsThemWithoutBlocking) {
  TempDir dir;
  const std::string path = dir.File("records.db");
  RecordWriterOptions o;
  o.max_queued = 3;
  o.max_batch = 1;
  RecordWriter writer(OpenOrDie({.path = path}), o);
  // Another connection holds the write lock, so the writer cannot drain the queue: at most one
  // record is in its hands and three are queued.
  sqlite3* blocker = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &blocker), SQLITE_OK);
  // The writer's thread may hold the database for a moment as it starts (a retention pass):
  // wait for it rather than fail.
  sqlite3_busy_timeout(blocker, 30000);
  ASSERT_EQ(sqlite3_exec(blocker, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  uint64_t accepted = 0;
  for (int i = 0; i < 200; ++i) accepted += writer.Add(Sample()[i % 5]) ? 1 : 0;
  const RecordWriterStats s = writer.stats();
  EXPECT_LE(accepted, 4u);
  EXPECT_EQ(s.lost_overflow, 200u - accepted);
  ASSERT_EQ(sqlite3_exec(blocker, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(blocker);
  // The lock released, what was accepted is written (or, past the busy timeout, counted lost).
  EXPECT_TRUE(testing::WaitFor(
      [&] { return writer.stats().written + writer.stats().lost_errors == accepted; }, 30s));
}

TEST(RecordCollectorTest, AnEndedTrackBecomesARecordWithItsCrossingsAndZones) {
  testing::RecordingEventSink feed;
  RecordCollector collector("node-1", &feed, nullptr);
  auto event = [](int64_t t) {
    v1::Event e;
    e.set_camera_id("cam1");
    e.set_capture_time_us(t);
    return e;
  };
  v1::Event zone = event(kT0 + 1);
  zone.mutable_zone_entered()->set_zone_id("Z1");
  zone.mutable_zone_entered()->set_track_id(7);
  collector.Publish(zone);
  v1::Event cross = event(kT0 + 2);
  cross.mutable_line_crossed()->set_line_id("L1");
  cross.mutable_line_crossed()->set_track_id(7);
  cross.mutable_line_crossed()->set_direction(-1);
  cross.mutable_line_crossed()->set_speed_kmh(42);
  collector.Publish(cross);
  v1::Event other = event(kT0 + 3);  // another track: not in this record
  other.mutable_line_crossed()->set_line_id("L2");
  other.mutable_line_crossed()->set_track_id(8);
  collector.Publish(other);
  v1::Event ended = event(kT0 + 4);
  v1::VehicleTrack* t = ended.mutable_vehicle_ended()->mutable_track();
  t->set_track_id(7);
  t->set_vehicle_class(v1::VEHICLE_CLASS_CAR);
  t->set_colour(v1::VEHICLE_COLOUR_WHITE);
  t->set_speed_kmh(55);
  t->set_heading_deg(90);
  t->set_lane("northbound");
  t->add_zones("Z2");
  t->set_first_seen_us(kT0);
  t->set_last_seen_us(kT0 + 4);
  t->mutable_size()->set_length_m(4.2f);
  for (int i = 0; i < 12; ++i) t->add_colour_histogram(i == 11 ? 0.8f : i == 10 ? 0.2f : 0.f);
  collector.Publish(ended);

  const std::vector<v1::Event> events = feed.events();
  ASSERT_EQ(events.size(), 5u);  // everything forwarded, the record after its vehicle_ended
  EXPECT_TRUE(events[3].has_vehicle_ended());
  ASSERT_TRUE(events[4].has_vehicle_record());
  EXPECT_EQ(events[4].camera_id(), "cam1");
  EXPECT_EQ(events[4].capture_time_us(), kT0 + 4);
  const v1::VehicleRecord& r = events[4].vehicle_record();
  EXPECT_EQ(r.track_id(), 7u);
  EXPECT_EQ(r.vehicle_class(), v1::VEHICLE_CLASS_CAR);
  EXPECT_EQ(r.colour(), v1::VEHICLE_COLOUR_WHITE);
  EXPECT_FLOAT_EQ(r.speed_kmh(), 55);
  EXPECT_EQ(r.lane(), "northbound");
  EXPECT_FLOAT_EQ(r.size().length_m(), 4.2f);
  ASSERT_EQ(r.colour_histogram_size(), 12);
  EXPECT_FLOAT_EQ(r.colour_histogram(11), 0.8f);
  EXPECT_EQ(r.first_seen_us(), kT0);
  EXPECT_EQ(r.last_seen_us(), kT0 + 4);
  ASSERT_EQ(r.crossings_size(), 1);
  EXPECT_EQ(r.crossings(0).line_id(), "L1");
  EXPECT_EQ(r.crossings(0).direction(), -1);
  EXPECT_EQ(r.crossings(0).time_us(), kT0 + 2);
  EXPECT_FLOAT_EQ(r.crossings(0).speed_kmh(), 42);
  EXPECT_EQ(std::vector<std::string>(r.zones().begin(), r.zones().end()),
            (std::vector<std::string>{"Z1", "Z2"}));
  EXPECT_TRUE(r.snapshot_files().empty());
  EXPECT_TRUE(r.clip_file().empty());
}

TEST(RecordCollectorTest, RecordsGoToTheWriter) {
  TempDir dir;
  testing::RecordingEventSink feed;
  RecordWriter writer(OpenOrDie({.path = dir.File("records.db")}), {});
  RecordCollector collector("node-1", &feed, &writer);
  v1::Event ended;
  ended.set_camera_id("cam9");
  ended.mutable_vehicle_ended()->mutable_track()->set_track_id(3);
  collector.Publish(ended);
  EXPECT_TRUE(testing::WaitFor([&] { return writer.stats().written == 1; }, 10s));
}

TEST(RecordCollectorTest, EvidenceOfAnEndedTrackBecomesItsSnapshotFiles) {
  TempDir dir;
  testing::RecordingEventSink feed;
  auto store = EvidenceStore::Open({.path = dir.File("evidence")});
  ASSERT_TRUE(store.ok()) << store.status().message();
  RecordWriter writer(OpenOrDie({.path = dir.File("records.db")}), {});
  {
    RecordCollector collector("node-1", &feed, &writer, *store);
    EXPECT_TRUE(collector.wants_evidence());
    EvidenceSnapshot snap;
    snap.crop_jpeg = "crop bytes";
    snap.scene_jpeg = "scene bytes";
    snap.time_us = kT0;
    collector.PublishEvidence("cam1", 7, std::move(snap));
    v1::Event ended;
    ended.set_camera_id("cam1");
    ended.set_capture_time_us(kT0 + 5);
    ended.mutable_vehicle_ended()->mutable_track()->set_track_id(7);
    collector.Publish(ended);
    // Another track without evidence: its record goes on at once, without files.
    ended.mutable_vehicle_ended()->mutable_track()->set_track_id(8);
    collector.Publish(ended);
    EXPECT_TRUE(testing::WaitFor([&] { return feed.events().size() == 4; }, 10s));
    EXPECT_EQ(collector.snapshot_stats().files_written, 2u);
  }
  const std::vector<v1::Event> events = feed.events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_TRUE(events[0].has_vehicle_ended());
  const v1::VehicleRecord* with_files = nullptr;
  for (const v1::Event& e : events) {
    if (e.has_vehicle_record() && e.vehicle_record().track_id() == 7) {
      with_files = &e.vehicle_record();
    } else if (e.has_vehicle_record()) {
      EXPECT_TRUE(e.vehicle_record().snapshot_files().empty());
    }
  }
  ASSERT_NE(with_files, nullptr);
  ASSERT_EQ(with_files->snapshot_files_size(), 2);
  EXPECT_EQ(with_files->snapshot_files(0), "cam1/snapshots/2027-01-15/" +
                                               SnapshotFileName(7, kT0, "crop"));
  EXPECT_EQ(testing::ReadFile(dir.File("evidence/" + with_files->snapshot_files(0))), "crop bytes");
  EXPECT_EQ(testing::ReadFile(dir.File("evidence/" + with_files->snapshot_files(1))), "scene bytes");
  // The stored record lists the files too.
  EXPECT_TRUE(testing::WaitFor([&] { return writer.stats().written == 2; }, 10s));
}


// --- Records retained together with their evidence files ---------------------------------------

class RecordEvidenceTest : public ::testing::Test {
 protected:
  static int64_t NowUs() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  void OpenEvidence(double retention_days = 0, int64_t max_bytes = 0) {
    EvidenceStoreOptions o;
    o.retention_days = retention_days;
    o.max_bytes = max_bytes;
    o.path = dir_.File("ev");
    o.sync = false;
    auto store = EvidenceStore::Open(o, &clock_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    evidence_ = *store;
  }
  // A vehicle's two snapshot files, as the snapshot writer names them.
  std::vector<std::string> Snapshots(uint64_t track, int64_t bytes = 200) {
    std::vector<std::string> out;
    for (const char* what : {"crop", "scene"}) {
      auto rel = evidence_->WriteFile(
          "cam1", "snapshots",
          "track-" + std::to_string(track) + "-" + std::to_string(track * 1000) + "-" + what +
              ".jpg",
          NowUs(), std::string(static_cast<size_t>(bytes), 'j'));
      EXPECT_TRUE(rel.ok()) << rel.status().message();
      if (rel.ok()) out.push_back(*rel);
    }
    return out;
  }
  StoredRecord Record(uint64_t track, const std::vector<std::string>& snapshots,
                      const std::string& clip = "", int64_t last_us = 0) {
    StoredRecord s = MakeStored("cam1", track, last_us ? last_us : NowUs(),
                                v1::VEHICLE_CLASS_CAR, v1::VEHICLE_COLOUR_WHITE, 50);
    for (const std::string& f : snapshots) s.record.add_snapshot_files(f);
    s.record.set_clip_file(clip);
    return s;
  }
  std::map<uint64_t, v1::VehicleRecord> Records() {
    auto store = OpenOrDie({.path = dir_.File("records.db"), .retention_days = 0});
    std::map<uint64_t, v1::VehicleRecord> out;
    if (!store) return out;
    RecordQuery q;
    q.limit = 1000;
    auto found = store->Query(q);
    EXPECT_TRUE(found.ok());
    if (!found.ok()) return out;
    for (const StoredRecord& s : *found) out[s.record.track_id()] = s.record;
    return out;
  }
  bool Exists(const std::string& rel) { return std::filesystem::exists(dir_.File("ev/" + rel)); }

  TempDir dir_;
  FakeClock clock_{NowUs()};
  std::shared_ptr<EvidenceStore> evidence_;
};

TEST_F(RecordEvidenceTest, AgeRetentionDeletesARecordAndItsSnapshotsTogether) {
  OpenEvidence(1);
  constexpr int64_t kDayUs = int64_t{86400} * 1'000'000;
  const std::vector<std::string> files1 = Snapshots(1);
  std::vector<std::string> files2, files3;
  {
    RecordWriter writer(OpenOrDie({.path = dir_.File("records.db"), .retention_days = 1}),
                        {.retention_interval_s = 3600}, evidence_);
    writer.Add(Record(1, files1));
    ASSERT_TRUE(testing::WaitFor([&] { return writer.stats().written == 1; }, 10s));
    // Two days later (the evidence store's clock), the next write's retention ages track 1's
    // files out: its record goes with them.
    clock_.AdvanceUs(2 * kDayUs);
    files3 = Snapshots(3);
    writer.Add(Record(3, files3));
    ASSERT_TRUE(testing::WaitFor(
        [&] { return writer.stats().deleted == 1 && writer.stats().written == 2; }, 10s));
    // Track 2 was last seen 3 days ago (a record of an earlier run), its files are fresh.
    files2 = Snapshots(2);
    ASSERT_TRUE(OpenOrDie({.path = dir_.File("records.db"), .retention_days = 0})
                    ->Insert({Record(2, files2, "", NowUs() - 3 * kDayUs)})
                    .ok());
  }
  {
    // The records' own age limit (the writer's first pass at start): the record goes, and its
    // files with it.
    RecordWriter writer(OpenOrDie({.path = dir_.File("records.db"), .retention_days = 1}),
                        {.retention_interval_s = 3600}, evidence_);
    ASSERT_TRUE(testing::WaitFor([&] { return writer.stats().files_deleted == 2; }, 10s));
    EXPECT_EQ(writer.stats().deleted, 1u);
  }
  const auto records = Records();
  EXPECT_EQ(records.size(), 1u);
  EXPECT_TRUE(records.count(3));
  for (const std::string& f : files1) EXPECT_FALSE(Exists(f)) << f;
  for (const std::string& f : files2) EXPECT_FALSE(Exists(f)) << f;
  for (const std::string& f : files3) EXPECT_TRUE(Exists(f)) << f;
}

TEST_F(RecordEvidenceTest, SpacePressureEvictsWholeVehiclesOldestFirst) {
  // Room for three vehicles (2 x 200 bytes each) and a little more.
  OpenEvidence(0, 1300);
  RecordWriter writer(OpenOrDie({.path = dir_.File("records.db")}), {}, evidence_);
  std::map<uint64_t, std::vector<std::string>> files;
  for (uint64_t track = 1; track <= 3; ++track) {
    clock_.AdvanceUs(1'000'000);
    files[track] = Snapshots(track);
    writer.Add(Record(track, files[track]));
  }
  ASSERT_TRUE(testing::WaitFor([&] { return writer.stats().written == 3; }, 10s));
  for (uint64_t track = 4; track <= 5; ++track) {
    clock_.AdvanceUs(1'000'000);
    files[track] = Snapshots(track);
    writer.Add(Record(track, files[track]));
  }
  // Vehicles 1 and 2 went, each whole (files and record), the oldest first.
  ASSERT_TRUE(testing::WaitFor(
      [&] { return writer.stats().written == 5 && writer.stats().deleted == 2; }, 10s));
  const auto records = Records();
  EXPECT_EQ(records.size(), 3u);
  for (uint64_t track = 1; track <= 5; ++track) {
    const bool kept = track >= 3;
    EXPECT_EQ(records.count(track), kept ? 1u : 0u) << track;
    for (const std::string& f : files[track]) EXPECT_EQ(Exists(f), kept) << f;
  }
  EXPECT_LE(evidence_->stats().bytes, 1300);
}

TEST_F(RecordEvidenceTest, ADeletedClipIsClearedFromEveryRecordNamingIt) {
  OpenEvidence(0, 1000);
  RecordWriter writer(OpenOrDie({.path = dir_.File("records.db")}), {}, evidence_);
  auto clip = evidence_->WriteFile("cam1", "clips", "140500-rule-t1.mp4", NowUs(),
                                   std::string(600, 'v'));
  ASSERT_TRUE(clip.ok());
  clock_.AdvanceUs(1'000'000);
  const std::vector<std::string> files1 = Snapshots(1, 100);
  const std::vector<std::string> files2 = Snapshots(2, 100);
  writer.Add(Record(1, files1, *clip));
  writer.Add(Record(2, files2, *clip));
  ASSERT_TRUE(testing::WaitFor([&] { return writer.stats().written == 2; }, 10s));
  EXPECT_EQ(Records()[1].clip_file(), *clip);
  // A new clip pushes the old one (the oldest file) out: both records lose the reference and
  // keep their snapshots.
  clock_.AdvanceUs(1'000'000);
  ASSERT_TRUE(evidence_->WriteFile("cam1", "clips", "140600-rule-t3.mp4", NowUs(),
                                   std::string(500, 'v'))
                  .ok());
  ASSERT_TRUE(testing::WaitFor([&] { return writer.stats().clips_cleared == 2; }, 10s));
  EXPECT_FALSE(Exists(*clip));
  const auto records = Records();
  ASSERT_EQ(records.size(), 2u);
  for (const auto& [track, r] : records) {
    EXPECT_TRUE(r.clip_file().empty()) << track;
    EXPECT_EQ(r.snapshot_files_size(), 2) << track;
  }
  // A record whose clip is already gone when it is written does not name it.
  writer.Add(Record(4, Snapshots(4, 50), *clip));
  ASSERT_TRUE(testing::WaitFor([&] { return writer.stats().written == 3; }, 10s));
  EXPECT_TRUE(Records()[4].clip_file().empty());
}

TEST_F(RecordEvidenceTest, RestartReconcilesFilesAndRecordsChangedWhileDown) {
  OpenEvidence();
  std::string clip;
  std::map<uint64_t, std::vector<std::string>> files;
  {
    RecordWriter writer(OpenOrDie({.path = dir_.File("records.db")}), {}, evidence_);
    auto c = evidence_->WriteFile("cam1", "clips", "140500-rule-t1.mp4", NowUs(), "clip");
    ASSERT_TRUE(c.ok());
    clip = *c;
    for (uint64_t track = 1; track <= 3; ++track) {
      files[track] = Snapshots(track);
      writer.Add(Record(track, files[track], clip));
    }
    ASSERT_TRUE(testing::WaitFor([&] { return writer.stats().written == 3; }, 10s));
  }
  evidence_.reset();
  // While the daemon is down: track 2's scene and the clip vanish, a snapshot without a record
  // appears (its record was lost in a crash).
  std::filesystem::remove(dir_.File("ev/" + files[2][1]));
  std::filesystem::remove(dir_.File("ev/" + clip));
  const std::string orphan = "cam1/snapshots/" + FormatUtc(NowUs(), "%Y-%m-%d") +
                             "/track-9-9000-crop.jpg";
  std::ofstream(dir_.File("ev/" + orphan)) << "orphan";
  std::filesystem::last_write_time(
      dir_.File("ev/" + orphan), std::filesystem::file_time_type::clock::now() - 1h);
  OpenEvidence();
  {
    RecordWriter writer(OpenOrDie({.path = dir_.File("records.db")}), {}, evidence_);
    ASSERT_TRUE(testing::WaitFor([&] { return writer.stats().clips_cleared == 2; }, 10s));
    EXPECT_EQ(writer.stats().deleted, 1u);
  }
  const auto records = Records();
  ASSERT_EQ(records.size(), 2u);
  for (uint64_t track : {1, 3}) {
    ASSERT_TRUE(records.count(track));
    EXPECT_TRUE(records.at(track).clip_file().empty());
    for (const std::string& f : files[track]) EXPECT_TRUE(Exists(f)) << f;
  }
  EXPECT_FALSE(Exists(files[2][0]));  // the rest of track 2 went with its record
  EXPECT_FALSE(Exists(orphan));
  EXPECT_FALSE(evidence_->Contains(orphan));
}

}  // namespace
}  // namespace skynet::daemon
