#include "tools/skynetctl/format.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <string>

namespace skynet::ctl {
namespace {

namespace v1 = skynet::v1;

// 2026-11-28 18:01:02.123 UTC.
constexpr int64_t kT = 1'795'888'862'123'000;

class FormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = getenv("TZ");
    saved_tz_ = tz ? std::optional<std::string>(tz) : std::nullopt;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  void TearDown() override {
    if (saved_tz_) {
      setenv("TZ", saved_tz_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }

  static v1::Event CameraEvent(const std::string& camera) {
    v1::Event e;
    e.set_node_id("node-1");
    e.set_camera_id(camera);
    e.set_capture_time_us(kT);
    e.set_publish_time_us(kT + 5000);
    return e;
  }

  static void AddRegion(google::protobuf::RepeatedPtrField<v1::MotionRegion>* regions, float x,
                        float y, float w, float h) {
    v1::NormalizedBox* b = regions->Add()->mutable_box();
    b->set_x(x);
    b->set_y(y);
    b->set_w(w);
    b->set_h(h);
  }

 private:
  std::optional<std::string> saved_tz_;
};

TEST_F(FormatTest, LocalTimeHasMilliseconds) {
  EXPECT_EQ(FormatLocalTime(kT), "2026-11-28 18:01:02.123");
  EXPECT_EQ(FormatLocalTime(0), "1970-01-01 00:00:00.000");
}

TEST_F(FormatTest, CameraStatusLineShowsStateReasonAndStream) {
  v1::Event e = CameraEvent("cam2");
  v1::CameraStatus* s = e.mutable_camera_status();
  s->set_state(v1::CAMERA_STATE_ONLINE);
  s->set_reason(v1::STATUS_REASON_CONNECTED);
  s->set_codec("h264");
  s->set_width(640);
  s->set_height(360);
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam2 camera online (connected) h264 640x360");
}

TEST_F(FormatTest, CameraStatusLineShowsDetail) {
  v1::Event e = CameraEvent("cam2");
  v1::CameraStatus* s = e.mutable_camera_status();
  s->set_state(v1::CAMERA_STATE_WAITING);
  s->set_reason(v1::STATUS_REASON_AUTH_FAILED);
  s->set_detail("401 from camera, retry in 4s");
  EXPECT_EQ(
      FormatEventLine(e),
      "2026-11-28 18:01:02.123 cam2 camera waiting (auth failed): 401 from camera, retry in 4s");
}

TEST_F(FormatTest, StreamChangedLineShowsOldAndNew) {
  v1::Event e = CameraEvent("cam1");
  v1::StreamChanged* s = e.mutable_stream_changed();
  s->set_old_codec("h264");
  s->set_old_width(1920);
  s->set_old_height(1080);
  s->set_new_codec("h265");
  s->set_new_width(1280);
  s->set_new_height(720);
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam1 stream-changed h264 1920x1080 -> h265 1280x720");
}

TEST_F(FormatTest, MotionStartedLineShowsRegions) {
  v1::Event e = CameraEvent("cam1");
  v1::MotionStarted* m = e.mutable_motion_started();
  m->set_motion_id(3);
  m->set_changed_fraction(0.041f);
  AddRegion(m->mutable_regions(), 0.12f, 0.40f, 0.10f, 0.08f);
  AddRegion(m->mutable_regions(), 0.5f, 0.5f, 0.2f, 0.25f);
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam1 motion-started #3 regions=2 changed=4.1% "
            "[0.12,0.40 0.10x0.08] [0.50,0.50 0.20x0.25]");
}

TEST_F(FormatTest, MotionUpdatedLineCapsTheBoxesShown) {
  v1::Event e = CameraEvent("cam1");
  v1::MotionUpdated* m = e.mutable_motion_updated();
  m->set_motion_id(3);
  m->set_changed_fraction(0.5f);
  for (int i = 0; i < 5; ++i) AddRegion(m->mutable_regions(), 0.1f * i, 0, 0.1f, 0.1f);
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam1 motion-updated #3 regions=5 changed=50.0% "
            "[0.00,0.00 0.10x0.10] [0.10,0.00 0.10x0.10] [0.20,0.00 0.10x0.10] +2 more");
}

TEST_F(FormatTest, MotionEndedLineShowsDurationAndPeak) {
  v1::Event e = CameraEvent("cam1");
  v1::MotionEnded* m = e.mutable_motion_ended();
  m->set_motion_id(3);
  m->set_started_at_us(kT - 4'200'000);
  m->set_duration_ms(4200);
  m->set_peak_changed_fraction(0.123f);
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam1 motion-ended #3 duration=4.2s peak=12.3%");
}

TEST_F(FormatTest, HeartbeatLineNamesTheNodeAndUsesPublishTime) {
  v1::Event e;
  e.set_node_id("node-1");
  e.set_publish_time_us(kT);
  v1::Heartbeat* h = e.mutable_heartbeat();
  h->set_last_seq(41);
  h->set_cameras_online(3);
  h->set_cameras_total(4);
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 node-1 heartbeat last_seq=41 cameras=3/4 online");
}

TEST_F(FormatTest, EventWithoutPayloadIsStillALine) {
  v1::Event e = CameraEvent("cam1");
  EXPECT_EQ(FormatEventLine(e), "2026-11-28 18:01:02.123 cam1 unknown-event");
}

TEST_F(FormatTest, JsonIsOneLineWithProtoFieldNames) {
  v1::Event e = CameraEvent("cam1");
  e.set_seq(7);
  e.mutable_motion_ended()->set_motion_id(3);
  Result<std::string> json = FormatEventJson(e);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(json->find('\n'), std::string::npos);
  EXPECT_NE(json->find("\"camera_id\":\"cam1\""), std::string::npos) << *json;
  EXPECT_NE(json->find("\"seq\":\"7\""), std::string::npos) << *json;
  EXPECT_NE(json->find("\"motion_ended\":{\"motion_id\":\"3\"}"), std::string::npos) << *json;
}

TEST_F(FormatTest, CameraTableRedactsCredentials) {
  v1::ListCamerasResponse list;
  v1::CameraInfo* c = list.add_cameras();
  c->set_id("cam1");
  c->set_name("North");
  c->set_url("rtsp://admin:pw@10.0.0.1/stream");
  c->set_enabled(true);
  c->set_analytics_fps(5);
  c->set_detect_width(320);
  v1::CameraInfo* d = list.add_cameras();
  d->set_id("cam2");
  d->set_name("Yard");
  d->set_url("rtsp://10.0.0.2/stream");
  d->set_enabled(true);
  d->set_analytics("health");
  d->set_analytics_fps(5);
  d->set_detect_width(320);
  EXPECT_EQ(FormatCameraTable(list),
            "ID    NAME   ENABLED  TIER    FPS  WIDTH  URL\n"
            "cam1  North  yes      full      5    320  rtsp://***@10.0.0.1/stream\n"
            "cam2  Yard   yes      health    5    320  rtsp://10.0.0.2/stream\n");
}

TEST_F(FormatTest, StatusReportHasHeaderAndOneRowPerCamera) {
  v1::StatusResponse s;
  s.set_node_id("node-1");
  s.set_epoch(1700000000000000);
  s.set_last_seq(1234);
  s.set_uptime_seconds(7380);
  v1::CameraStatusInfo* c = s.add_cameras();
  c->set_id("cam1");
  c->set_state(v1::CAMERA_STATE_ONLINE);
  c->set_reason(v1::STATUS_REASON_CONNECTED);
  c->set_fps_in(25);
  c->set_fps_analysed(5);
  c->set_frames_in(1000);
  c->set_frames_analysed(200);
  c->set_frames_dropped(3);
  c->set_reconnects(2);
  c->set_online_seconds(125);
  c->set_grade(v1::GRADE_EXCELLENT);
  v1::CameraStatusInfo* d = s.add_cameras();
  d->set_id("cam2");
  d->set_state(v1::CAMERA_STATE_WAITING);
  d->set_reason(v1::STATUS_REASON_REFUSED);
  d->set_detail("connection refused");
  EXPECT_EQ(
      FormatStatusReport(s),
      "node node-1  epoch 1700000000000000  last seq 1234  uptime 2h03m  cameras 2\n"
      "CAMERA  STATE    REASON     FPS IN/AN  FRAMES IN/AN/DROP  RECONN 1H/ALL  STALLS 1H  ONLINE"
      "  GRADE      MOTION  QUALITY\n"
      "cam1    online   connected   25.0/5.0         1000/200/3            0/2          0   2m05s"
      "  excellent  -       -\n"
      "cam2    waiting  refused      0.0/0.0              0/0/0            0/0          0       -"
      "  unknown    -       -\n"
      "  cam2: connection refused\n");
}

TEST_F(FormatTest, StatusReportSaysOverloadedForTheNodeAndEachCamera) {
  v1::StatusResponse s;
  s.set_node_id("node-1");
  s.set_overloaded(true);
  s.set_overloaded_cameras(1);
  s.set_analysis_share(0.62);
  v1::CameraStatusInfo* c = s.add_cameras();
  c->set_id("cam1");
  c->set_state(v1::CAMERA_STATE_ONLINE);
  c->set_overloaded(true);
  c->set_analysis_share(0.62);
  const std::string text = FormatStatusReport(s);
  EXPECT_NE(text.find("\n  analytics: OVERLOADED: 1 cameras drop frames, 62% of frames analysed "
                      "(mean over cameras)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\n  cam1: overloaded: 62% of its frames analysed\n"), std::string::npos)
      << text;
  s.set_overloaded(false);
  s.mutable_cameras(0)->set_overloaded(false);
  EXPECT_EQ(FormatStatusReport(s).find("verloaded"), std::string::npos);
}

TEST_F(FormatTest, StatusReportShowsTheJournalFailingAndRecovered) {
  v1::StatusResponse s;
  s.set_node_id("node-1");
  s.set_epoch(5);
  s.set_last_seq(900);
  s.set_uptime_seconds(60);
  v1::JournalStatus* j = s.mutable_journal();
  j->set_state(v1::JOURNAL_STATE_FAILING);
  j->set_detail("journal: cannot append to x.seg: No space left on device");
  j->set_first_seq_not_journaled(120);
  j->set_last_seq_not_journaled(900);
  j->set_events_not_journaled(781);
  EXPECT_EQ(FormatStatusReport(s),
            "node node-1  epoch 5  last seq 900  uptime 1m00s  cameras 0\n"
            "journal FAILING: seqs 120..900 not journaled so far (journal: cannot append to "
            "x.seg: No space left on device), 781 events not journaled this epoch\n");
  j->set_state(v1::JOURNAL_STATE_OK);
  j->set_damaged_segments(1);
  j->set_corrupt_events(2);
  EXPECT_EQ(JournalStatusText(*j),
            "journal ok (recovered; seqs 120..900 were not journaled), 781 events not journaled "
            "this epoch, 1 damaged segments moved aside at start (2 events lost)");
  v1::Event e;
  e.set_node_id("node-1");
  *e.mutable_journal_status() = *j;
  EXPECT_NE(FormatEventLine(e).find("journal ok (recovered; seqs 120..900"), std::string::npos);
  EXPECT_EQ(JournalStatusText(v1::JournalStatus()), "journal unknown");
}

TEST_F(FormatTest, StatusReportShowsTheEvidenceAlarmAndTheNodeDegraded) {
  v1::StatusResponse s;
  s.set_node_id("node-1");
  s.set_epoch(5);
  s.set_last_seq(900);
  s.set_uptime_seconds(60);
  v1::EvidenceStatus* e = s.mutable_evidence();
  e->set_directory("/ev");
  e->set_bytes(3 << 20);
  e->set_max_bytes(int64_t{4} << 20);
  e->set_files(12);
  e->set_disk_free_bytes(1536);
  EXPECT_EQ(FormatStatusReport(s),
            "node node-1  epoch 5  last seq 900  uptime 1m00s  cameras 0\n"
            "  evidence: 3.0 MiB in 12 files (limit 4.0 MiB), 1.5 KiB free on disk at /ev\n");
  const int64_t since = int64_t{1'796'565'900} * 1'000'000;
  e->set_stopped(true);
  e->set_stopped_since_us(since);
  e->set_failed_path("/ev/cam1/clips/2026-12-06/x.mp4");
  e->set_error("No space left on device");
  e->set_refused(7);
  e->set_disk_free_bytes(0);
  EXPECT_EQ(FormatStatusReport(s),
            "node node-1  epoch 5  last seq 900  uptime 1m00s  cameras 0  DEGRADED (evidence "
            "writing stopped)\n"
            "  evidence: ALARM: writing STOPPED since " + FormatLocalTime(since) +
                " (disk full or quota at /ev/cam1/clips/2026-12-06/x.mp4: No space left on "
                "device), 7 writes refused; snapshots, clips and recordings are not written "
                "until space is freed (retried every 10 s); cameras and events go on\n"
                "  evidence: 3.0 MiB in 12 files (limit 4.0 MiB), 0 B free on disk at /ev\n");
}

TEST_F(FormatTest, ReloadReportNamesTheChangesAndWarnings) {
  v1::ReloadResponse r;
  r.set_config_path("/etc/skynetd.yaml");
  r.add_added("d");
  r.add_removed("c");
  r.add_removed("x");
  r.add_removed_runtime("x");
  r.add_unchanged("a");
  r.add_warnings("node_id ('a' -> 'b') changed: applies at the next start of skynetd");
  EXPECT_EQ(FormatReloadReport(r),
            "reloaded /etc/skynetd.yaml: 1 added (d), 2 removed (c, x), 0 restarted, 1 unchanged\n"
            "removed x: added at runtime, not in the file\n"
            "warning: node_id ('a' -> 'b') changed: applies at the next start of skynetd\n");
}

TEST_F(FormatTest, DurationsAreCompact) {
  EXPECT_EQ(FormatDuration(12.34), "12.3s");
  EXPECT_EQ(FormatDuration(245), "4m05s");
  EXPECT_EQ(FormatDuration(7380), "2h03m");
  EXPECT_EQ(FormatDuration(3 * 86400 + 4 * 3600 + 10), "3d04h");
}

// --- vehicles and traffic -------------------------------------------------------------------

v1::VehicleTrack Car(uint64_t id) {
  v1::VehicleTrack t;
  t.set_track_id(id);
  t.set_vehicle_class(v1::VEHICLE_CLASS_CAR);
  t.set_colour(v1::VEHICLE_COLOUR_RED);
  t.set_calibrated(true);
  t.mutable_size()->set_length_m(4.4f);
  t.mutable_size()->set_width_m(1.8f);
  t.set_speed_kmh(42.2f);
  t.set_lane("2");
  return t;
}

TEST_F(FormatTest, VehicleNewLineShowsClassColourSizeSpeedLaneAndSnapshot) {
  v1::Event e = CameraEvent("cam1");
  *e.mutable_vehicle_new()->mutable_track() = Car(12);
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam1 vehicle-new #12 car red 4.4x1.8m 42 km/h lane 2");
  e.mutable_vehicle_new()->mutable_track()->mutable_snapshot()->set_crop_jpeg(
      std::string(3000, 'x'));
  e.mutable_vehicle_new()->mutable_track()->mutable_snapshot()->set_frame_jpeg(
      std::string(20000, 'x'));
  EXPECT_EQ(FormatEventLine(e), "2026-11-28 18:01:02.123 cam1 vehicle-new #12 car red 4.4x1.8m "
                                "42 km/h lane 2 snapshot 3+20KB");
}

TEST_F(FormatTest, UncalibratedVehicleHasNoSizeOrSpeed) {
  v1::Event e = CameraEvent("cam1");
  v1::VehicleTrack t;
  t.set_track_id(3);
  t.set_speed_kmh(-1);
  t.add_zones("bus-stop");
  t.set_stationary(true);
  *e.mutable_vehicle_updated()->mutable_track() = t;
  e.mutable_vehicle_updated()->mutable_changes()->set_zones(true);
  e.mutable_vehicle_updated()->mutable_changes()->set_stationary(true);
  EXPECT_EQ(FormatEventLine(e), "2026-11-28 18:01:02.123 cam1 vehicle-updated #3 unknown "
                                "zones=bus-stop stopped changed=zones,stationary");
}

TEST_F(FormatTest, VehicleEndedLineShowsDurationAndPath) {
  v1::Event e = CameraEvent("cam1");
  v1::VehicleTrack t = Car(12);
  t.set_lane("");
  t.mutable_trajectory()->set_duration_ms(9500);
  t.mutable_trajectory()->set_length(120.4f);
  t.mutable_trajectory()->set_length_in_metres(true);
  *e.mutable_vehicle_ended()->mutable_track() = t;
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam1 vehicle-ended #12 car red 4.4x1.8m 42 km/h after 9.5s "
            "120m");
}

TEST_F(FormatTest, TrafficRuleLinesAreReadable) {
  v1::Event e = CameraEvent("cam1");
  auto* l = e.mutable_line_crossed();
  l->set_line_id("stopline");
  l->set_track_id(12);
  l->set_vehicle_class(v1::VEHICLE_CLASS_CAR);
  l->set_direction(1);
  l->set_speed_kmh(38);
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam1 line-crossed stopline #12 car dir=+1 38 km/h");
  l->set_direction(-1);
  l->set_speed_kmh(-1);
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam1 line-crossed stopline #12 car dir=-1");

  e = CameraEvent("cam1");
  auto* w = e.mutable_wrong_way();
  w->set_lane_id("northbound");
  w->set_track_id(7);
  w->set_vehicle_class(v1::VEHICLE_CLASS_CAR);
  w->set_speed_kmh(-1);
  w->set_distance(48);
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam1 wrong-way #7 car lane northbound 48px against");

  e = CameraEvent("cam1");
  auto* s = e.mutable_vehicle_stopped();
  s->set_zone_id("bus-stop");
  s->set_track_id(4);
  s->set_vehicle_class(v1::VEHICLE_CLASS_TRUCK);
  s->set_stopped_s(61);
  s->set_max_stop_s(60);
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam1 vehicle-stopped bus-stop #4 truck stopped=61s limit=60s");

  e = CameraEvent("cam1");
  auto* sp = e.mutable_speeding();
  sp->set_track_id(9);
  sp->set_vehicle_class(v1::VEHICLE_CLASS_MOTORCYCLE);
  sp->set_speed_kmh(71.6f);
  sp->set_limit_kmh(50);
  sp->set_lane_id("1");
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam1 speeding #9 motorcycle 72 km/h limit=50 lane 1");

  e = CameraEvent("cam1");
  e.mutable_zone_entered()->set_zone_id("z");
  e.mutable_zone_entered()->set_track_id(2);
  EXPECT_EQ(FormatEventLine(e), "2026-11-28 18:01:02.123 cam1 zone-entered z #2 unknown");
  e = CameraEvent("cam1");
  e.mutable_zone_left()->set_zone_id("z");
  e.mutable_zone_left()->set_track_id(2);
  e.mutable_zone_left()->set_dwell_s(4.25f);
  EXPECT_EQ(FormatEventLine(e), "2026-11-28 18:01:02.123 cam1 zone-left z #2 unknown dwell=4.2s");
}

TEST_F(FormatTest, TrafficStatsLineShowsTheLaneFigures) {
  v1::Event e = CameraEvent("cam1");
  auto* t = e.mutable_traffic_stats();
  t->set_lane_id("northbound");
  t->set_interval_start_us(0);
  t->set_interval_end_us(60'000'000);
  t->set_count(12);
  t->set_mean_speed_kmh(41.4f);
  t->set_occupancy(0.234f);
  t->set_mean_headway_s(4.8f);
  t->set_queue_length(2);
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam1 traffic-stats lane northbound 60s count=12 "
            "speed=41 km/h occupancy=23.4% headway=4.8s queue=2");
  t->set_mean_speed_kmh(-1);
  t->set_mean_headway_s(-1);
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam1 traffic-stats lane northbound 60s count=12 "
            "occupancy=23.4% queue=2");
}

TEST_F(FormatTest, VideoQualityLineShowsTheChangeAndTheWorst) {
  v1::Event e = CameraEvent("cam1");
  auto* q = e.mutable_video_quality();
  q->set_check("frozen");
  q->set_from(v1::QUALITY_STATE_OK);
  q->set_to(v1::QUALITY_STATE_FAULT);
  q->set_score(1);
  q->set_worst(v1::QUALITY_STATE_FAULT);
  q->add_faults("frozen");
  q->add_faults("blur");
  EXPECT_EQ(FormatEventLine(e),
            "2026-11-28 18:01:02.123 cam1 quality frozen ok -> fault score=1.00 "
            "worst=FAULT frozen,blur");
}

TEST_F(FormatTest, QualityReportListsCamerasAndChecksWorstFirst) {
  v1::QualityResponse r;
  v1::CameraQualityInfo* fine = r.add_cameras();
  fine->set_camera_id("gate1");
  fine->set_enabled(true);
  fine->set_worst(v1::QUALITY_STATE_OK);
  fine->set_reference("loaded");
  fine->set_samples(3);
  v1::QualityCheckInfo* c = fine->add_checks();
  c->set_check("frozen");
  c->set_state(v1::QUALITY_STATE_OK);
  c->set_since_us(1'795'888'800'000'000);
  v1::CameraQualityInfo* off = r.add_cameras();
  off->set_camera_id("old");
  v1::CameraQualityInfo* bad = r.add_cameras();
  bad->set_camera_id("cam2");
  bad->set_enabled(true);
  bad->set_worst(v1::QUALITY_STATE_FAULT);
  bad->set_reference("learned");
  bad->set_reference_time_us(1'795'888'800'000'000);
  bad->set_reference_file("/var/lib/skynetd/quality/cam2.yml.gz");
  bad->set_samples(412);
  c = bad->add_checks();
  c->set_check("black");
  c->set_state(v1::QUALITY_STATE_OK);
  c->set_since_us(1'795'888'800'000'000);
  c = bad->add_checks();
  c->set_check("occlusion");
  c->set_state(v1::QUALITY_STATE_FAULT);
  c->set_score(0.8f);
  c->set_since_us(1'795'889'100'000'000);
  c = bad->add_checks();
  c->set_check("moved");
  c->set_state(v1::QUALITY_STATE_OK);
  c->set_held(true);
  EXPECT_EQ(FormatQualityReport(r),
            "cam2: FAULT occlusion  reference learned 2026-11-28 18:00:00.000 "
            "(/var/lib/skynetd/quality/cam2.yml.gz)  412 samples\n"
            "CHECK      STATE      SCORE  SINCE\n"
            "occlusion  fault       0.80  2026-11-28 18:05:00\n"
            "black      ok          0.00  2026-11-28 18:00:00\n"
            "moved      ok (held)   0.00  -\n"
            "\n"
            "gate1: ok  reference loaded (not kept)  3 samples\n"
            "CHECK   STATE  SCORE  SINCE\n"
            "frozen  ok      0.00  2026-11-28 18:00:00\n"
            "\n"
            "old: video quality diagnostics off\n");
}

}  // namespace
}  // namespace skynet::ctl
