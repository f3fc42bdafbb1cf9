#include "tools/skynetctl/top.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <optional>
#include <string>

namespace skynet::ctl {
namespace {

namespace v1 = skynet::v1;

// 2026-11-28 18:01:02 UTC.
constexpr int64_t kT = 1'795'888'862'000'000;
constexpr int64_t kSecond = 1'000'000;

class TopModelTest : public ::testing::Test {
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

  static v1::Event At(const std::string& camera, int64_t t) {
    v1::Event e;
    e.set_node_id("node-1");
    e.set_camera_id(camera);
    e.set_capture_time_us(t);
    return e;
  }
  static v1::Event Status(const std::string& camera, int64_t t, v1::CameraState state,
                          v1::StatusReason reason, const std::string& detail = "") {
    v1::Event e = At(camera, t);
    e.mutable_camera_status()->set_state(state);
    e.mutable_camera_status()->set_reason(reason);
    e.mutable_camera_status()->set_detail(detail);
    return e;
  }
  static v1::Event Crossed(const std::string& camera, int64_t t, const std::string& line,
                           int direction, float kmh) {
    v1::Event e = At(camera, t);
    v1::LineCrossed* l = e.mutable_line_crossed();
    l->set_line_id(line);
    l->set_direction(direction);
    l->set_speed_kmh(kmh);
    l->set_vehicle_class(v1::VEHICLE_CLASS_CAR);
    return e;
  }
  static v1::Event Track(const std::string& camera, int64_t t, uint64_t id, bool ended,
                         bool stationary = false) {
    v1::Event e = At(camera, t);
    v1::VehicleTrack* track = ended ? e.mutable_vehicle_ended()->mutable_track()
                                    : e.mutable_vehicle_new()->mutable_track();
    track->set_track_id(id);
    track->set_stationary(stationary);
    return e;
  }
  static v1::Event WrongWay(const std::string& camera, int64_t t) {
    v1::Event e = At(camera, t);
    v1::WrongWay* w = e.mutable_wrong_way();
    w->set_track_id(12);
    w->set_vehicle_class(v1::VEHICLE_CLASS_CAR);
    w->set_lane_id("outbound");
    w->set_speed_kmh(43);
    w->set_distance(35);
    w->set_distance_in_metres(true);
    return e;
  }
  static v1::Event Stopped(const std::string& camera, int64_t t) {
    v1::Event e = At(camera, t);
    v1::VehicleStopped* s = e.mutable_vehicle_stopped();
    s->set_track_id(7);
    s->set_vehicle_class(v1::VEHICLE_CLASS_TRUCK);
    s->set_zone_id("no-parking");
    s->set_stopped_s(21);
    s->set_max_stop_s(20);
    return e;
  }

  // The table row of `camera` in `screen` ("" if absent).
  static std::string Row(const std::string& screen, const std::string& camera) {
    size_t at = screen.find("\n" + camera + " ");
    if (at == std::string::npos) return "";
    return screen.substr(at + 1, screen.find('\n', at + 1) - at - 1);
  }

 private:
  std::optional<std::string> saved_tz_;
};

TEST_F(TopModelTest, WholeScreenForOneBusyCamera) {
  TopModel top;
  v1::ListCamerasResponse list;
  v1::CameraInfo* info = list.add_cameras();
  info->set_id("cam1");
  info->set_name("Main St northbound");
  info->set_enabled(true);
  top.SetCameras(list);
  top.AddEvent(Status("cam1", kT, v1::CAMERA_STATE_ONLINE, v1::STATUS_REASON_CONNECTED), kT);
  top.AddEvent(Track("cam1", kT, 1, false), kT);
  top.AddEvent(Track("cam1", kT, 2, false, /*stationary=*/true), kT);
  top.AddEvent(Crossed("cam1", kT + kSecond, "count", +1, 40), kT + kSecond);
  top.AddEvent(Crossed("cam1", kT + 2 * kSecond, "count", +1, 50), kT + 2 * kSecond);
  top.AddEvent(Crossed("cam1", kT + 3 * kSecond, "count", -1, 30), kT + 3 * kSecond);
  top.AddEvent(WrongWay("cam1", kT + 4 * kSecond), kT + 4 * kSecond);
  EXPECT_EQ(top.Render(kT + 5 * kSecond),
            "node node-1  18:01:07  cameras 1/1 online  window 1m00s  events 7\n"
            "\n"
            "CAMERA  STATE   IN VIEW        COUNT FWD/BACK  KM/H  MOTION  ALARMS     NAME\n"
            "cam1    online  2 (1 stopped)  count 2/1         40  -       wrong way  Main St "
            "northbound\n"
            "\n"
            "ALARMS (latest 1)\n"
            "18:01:06  cam1  WRONG WAY  #12 car in lane outbound, 43 km/h, 35 m against\n");
}

TEST_F(TopModelTest, CountsAndSpeedCoverOnlyTheWindowButLinesStayListed) {
  TopModel top({.window_us = 60 * kSecond});
  top.AddEvent(Crossed("cam1", kT, "count", +1, 40), kT);
  top.AddEvent(Crossed("cam1", kT, "exit", -1, -1), kT);
  top.AddEvent(Crossed("cam1", kT + 30 * kSecond, "count", +1, 60), kT + 30 * kSecond);
  EXPECT_NE(Row(top.Render(kT + 31 * kSecond), "cam1").find("count 2/0  exit 0/1    50"),
            std::string::npos)
      << top.Render(kT + 31 * kSecond);
  // The first crossings leave the window; the lines stay, with what remains.
  const std::string later = Row(top.Render(kT + 61 * kSecond), "cam1");
  EXPECT_NE(later.find("count 1/0  exit 0/0    60"), std::string::npos) << later;
  const std::string quiet = Row(top.Render(kT + 91 * kSecond), "cam1");
  EXPECT_NE(quiet.find("count 0/0  exit 0/0     -"), std::string::npos) << quiet;
}

TEST_F(TopModelTest, VehiclesInViewFollowTheTrackLifecycle) {
  TopModel top({.track_expiry_us = 300 * kSecond});
  top.AddEvent(Track("cam1", kT, 1, false), kT);
  top.AddEvent(Track("cam1", kT, 2, false), kT);
  top.AddEvent(Track("cam1", kT, 3, false), kT);
  top.AddEvent(Track("cam1", kT, 2, /*ended=*/true), kT);
  v1::Event update = At("cam1", kT + kSecond);  // joined mid-track: first seen in an update
  update.mutable_vehicle_updated()->mutable_track()->set_track_id(9);
  update.mutable_vehicle_updated()->mutable_track()->set_stationary(true);
  top.AddEvent(update, kT + kSecond);
  EXPECT_NE(Row(top.Render(kT + 2 * kSecond), "cam1").find("  3 (1 stopped)  "), std::string::npos)
      << top.Render(kT + 2 * kSecond);
  // Tracks whose end was lost expire.
  EXPECT_NE(Row(top.Render(kT + 302 * kSecond), "cam1").find("  0  "), std::string::npos);
}

TEST_F(TopModelTest, OfflineAlarmOnceAndClosedWhenBackOnline) {
  TopModel top;
  top.AddEvent(Status("gate1", kT, v1::CAMERA_STATE_ONLINE, v1::STATUS_REASON_CONNECTED), kT);
  top.AddEvent(Track("gate1", kT, 1, false), kT);
  top.AddEvent(Status("gate1", kT + kSecond, v1::CAMERA_STATE_OFFLINE,
                      v1::STATUS_REASON_END_OF_STREAM, "the camera closed the stream"),
               kT + kSecond);
  // Waiting and reconnecting are the same outage: no second alarm.
  top.AddEvent(
      Status("gate1", kT + 2 * kSecond, v1::CAMERA_STATE_WAITING, v1::STATUS_REASON_REFUSED),
      kT + 2 * kSecond);
  top.AddEvent(
      Status("gate1", kT + 3 * kSecond, v1::CAMERA_STATE_CONNECTING, v1::STATUS_REASON_STARTED),
      kT + 3 * kSecond);
  std::string screen = top.Render(kT + 4 * kSecond);
  EXPECT_NE(Row(screen, "gate1").find("gate1   connecting (started)  0        -"),
            std::string::npos)
      << screen;
  EXPECT_NE(Row(screen, "gate1").find("  offline"), std::string::npos) << screen;
  EXPECT_NE(screen.find("cameras 0/1 online"), std::string::npos) << screen;
  EXPECT_NE(screen.find("ALARMS (latest 1)\n18:01:03  gate1  OFFLINE  end of stream: the camera "
                        "closed the stream\n"),
            std::string::npos)
      << screen;

  top.AddEvent(
      Status("gate1", kT + 21 * kSecond, v1::CAMERA_STATE_ONLINE, v1::STATUS_REASON_CONNECTED),
      kT + 21 * kSecond);
  screen = top.Render(kT + 22 * kSecond);
  EXPECT_NE(screen.find("OFFLINE  end of stream: the camera closed the stream (back online after "
                        "20.0s)\n"),
            std::string::npos)
      << screen;
  EXPECT_NE(screen.find("ALARMS (latest 1)"), std::string::npos) << screen;
  // The alarm stays in the camera's ALARMS column for the window, then leaves it.
  EXPECT_NE(Row(screen, "gate1").find("  offline"), std::string::npos) << screen;
  EXPECT_EQ(Row(top.Render(kT + 70 * kSecond), "gate1").find("offline"), std::string::npos);
}

TEST_F(TopModelTest, DegradedCameraRaisesItsOwnAlarmAndIsNotCountedOnline) {
  TopModel top;
  top.AddEvent(Status("gate1", kT, v1::CAMERA_STATE_ONLINE, v1::STATUS_REASON_CONNECTED), kT);
  top.AddEvent(Status("gate1", kT + kSecond, v1::CAMERA_STATE_DEGRADED,
                      v1::STATUS_REASON_DECODE_ERROR, "12 decoder errors in 1.0s"),
               kT + kSecond);
  std::string screen = top.Render(kT + 2 * kSecond);
  EXPECT_NE(screen.find("cameras 0/1 online (1 degraded)"), std::string::npos) << screen;
  EXPECT_NE(screen.find("gate1  DEGRADED  decode error: 12 decoder errors in 1.0s\n"),
            std::string::npos)
      << screen;
  // Degraded, then offline: the degraded alarm ends, an offline one begins.
  top.AddEvent(Status("gate1", kT + 3 * kSecond, v1::CAMERA_STATE_OFFLINE,
                      v1::STATUS_REASON_END_OF_STREAM),
               kT + 3 * kSecond);
  top.AddEvent(
      Status("gate1", kT + 9 * kSecond, v1::CAMERA_STATE_ONLINE, v1::STATUS_REASON_CONNECTED),
      kT + 9 * kSecond);
  screen = top.Render(kT + 10 * kSecond);
  EXPECT_NE(screen.find("DEGRADED  decode error: 12 decoder errors in 1.0s (offline)\n"),
            std::string::npos)
      << screen;
  EXPECT_NE(screen.find("OFFLINE   end of stream (back online after 6.0s)\n"), std::string::npos)
      << screen;
  EXPECT_NE(screen.find("cameras 1/1 online"), std::string::npos) << screen;
  EXPECT_EQ(screen.find("degraded)"), std::string::npos) << screen;
}

TEST_F(TopModelTest, AlarmsNewestLastUpToTheLimitAndCountedPerKind) {
  TopModel top({.max_alarms = 3});
  for (int i = 0; i < 3; ++i) {
    top.AddEvent(WrongWay("cam2", kT + i * kSecond), kT + i * kSecond);
  }
  top.AddEvent(Stopped("cam1", kT + 10 * kSecond), kT + 10 * kSecond);
  v1::Event speeding = At("cam1", kT + 11 * kSecond);
  speeding.mutable_speeding()->set_track_id(4);
  speeding.mutable_speeding()->set_vehicle_class(v1::VEHICLE_CLASS_BUS);
  speeding.mutable_speeding()->set_speed_kmh(72);
  speeding.mutable_speeding()->set_limit_kmh(50);
  top.AddEvent(speeding, kT + 11 * kSecond);
  const std::string screen = top.Render(kT + 12 * kSecond);
  EXPECT_NE(screen.find("ALARMS (latest 3)\n"
                        "18:01:04  cam2  WRONG WAY   #12 car in lane outbound, 43 km/h, 35 m "
                        "against\n"
                        "18:01:12  cam1  NO PARKING  #7 truck in zone no-parking, stopped 21s "
                        "(limit 20s)\n"
                        "18:01:13  cam1  SPEEDING    #4 bus at 72 km/h (limit 50)\n"),
            std::string::npos)
      << screen;
  EXPECT_NE(Row(screen, "cam2").find("wrong way x3"), std::string::npos) << screen;
  EXPECT_NE(Row(screen, "cam1").find("no parking, speeding"), std::string::npos) << screen;
}

TEST_F(TopModelTest, ZeroAlarmLinesStillCountsAlarmsPerCamera) {
  TopModel top({.max_alarms = 0});
  top.AddEvent(Status("gate1", kT, v1::CAMERA_STATE_OFFLINE, v1::STATUS_REASON_REFUSED), kT);
  top.AddEvent(Status("gate1", kT + kSecond, v1::CAMERA_STATE_ONLINE, v1::STATUS_REASON_CONNECTED),
               kT + kSecond);
  const std::string screen = top.Render(kT + kSecond);
  EXPECT_NE(screen.find("no alarms"), std::string::npos) << screen;
  EXPECT_NE(Row(screen, "gate1").find("offline"), std::string::npos) << screen;
}

TEST_F(TopModelTest, CameraListOrdersRowsAndStatusGivesStates) {
  TopModel top;
  top.AddEvent(Track("zeta", kT, 1, false), kT);  // seen on the feed before the list came
  v1::ListCamerasResponse list;
  for (const char* id : {"cam2", "cam1"}) {
    v1::CameraInfo* c = list.add_cameras();
    c->set_id(id);
    c->set_name(id);
    c->set_enabled(true);
  }
  list.mutable_cameras(1)->set_enabled(false);
  top.SetCameras(list);
  v1::StatusResponse status;
  status.set_node_id("junction-7");
  v1::CameraStatusInfo* s = status.add_cameras();
  s->set_id("cam2");
  s->set_state(v1::CAMERA_STATE_WAITING);
  s->set_reason(v1::STATUS_REASON_REFUSED);
  s->set_detail("connection refused");
  top.SetStatus(status, kT);
  const std::string screen = top.Render(kT + kSecond);
  const size_t cam2 = screen.find("\ncam2 "), cam1 = screen.find("\ncam1 "),
               zeta = screen.find("\nzeta ");
  ASSERT_NE(zeta, std::string::npos) << screen;
  EXPECT_LT(cam2, cam1) << screen;
  EXPECT_LT(cam1, zeta) << screen;
  EXPECT_NE(screen.find("node junction-7 "), std::string::npos) << screen;
  EXPECT_NE(Row(screen, "cam2").find("waiting (refused)"), std::string::npos) << screen;
  EXPECT_NE(Row(screen, "cam1").find("disabled"), std::string::npos) << screen;
  EXPECT_NE(screen.find("cam2  OFFLINE  refused: connection refused\n"), std::string::npos)
      << screen;

  // A camera the daemon no longer lists goes; one only seen on the feed stays.
  list.mutable_cameras()->RemoveLast();
  top.SetCameras(list);
  EXPECT_EQ(top.Render(kT + kSecond).find("\ncam1 "), std::string::npos);
  EXPECT_NE(top.Render(kT + kSecond).find("\nzeta "), std::string::npos);
}

TEST_F(TopModelTest, OnlyTheChosenCameras) {
  TopModel top({.cameras = {"cam1"}});
  top.AddEvent(Crossed("cam1", kT, "count", 1, 30), kT);
  top.AddEvent(Crossed("cam10", kT, "count", 1, 30), kT);
  top.AddEvent(WrongWay("cam10", kT), kT);
  const std::string screen = top.Render(kT);
  EXPECT_NE(screen.find("\ncam1 "), std::string::npos) << screen;
  EXPECT_EQ(screen.find("cam10"), std::string::npos) << screen;
  EXPECT_NE(screen.find("no alarms"), std::string::npos) << screen;
}

TEST_F(TopModelTest, SaysWhenTheFeedIsSilentAndCountsLostEvents) {
  TopModel top({.silence_us = 5 * kSecond});
  EXPECT_EQ(top.Render(kT).find("no events"), std::string::npos);
  EXPECT_NE(top.Render(kT + 6 * kSecond).find("no events from the feed for 6.0s (is skynetd"),
            std::string::npos);
  v1::ReplayGap loss;
  loss.set_first_seq(10);
  loss.set_last_seq(14);
  top.AddLoss(loss, kT + 7 * kSecond);
  const std::string screen = top.Render(kT + 7 * kSecond);
  EXPECT_EQ(screen.find("no events"), std::string::npos) << screen;
  EXPECT_NE(screen.find("  LOST 5"), std::string::npos) << screen;
}

TEST_F(TopModelTest, AnsiScreenRedrawsInPlaceCutToTheTerminal) {
  TopModel top;
  top.AddEvent(WrongWay("cam1", kT), kT);
  const std::string screen = top.RenderAnsi(kT, 20);
  EXPECT_EQ(screen.rfind("\x1b[H", 0), 0u) << screen;
  EXPECT_EQ(screen.substr(screen.size() - 3), "\x1b[J");
  EXPECT_NE(screen.find("node node-1  18:01:0\x1b[K\n"), std::string::npos) << screen;
  EXPECT_NE(screen.find("\x1b[31m18:01:02  cam1  WRON\x1b[0m\x1b[K\n"), std::string::npos)
      << screen;
}

TEST_F(TopModelTest, VideoQualityFaultIsAnAlarmUntilTheCheckIsOkAgain) {
  TopModel top;
  top.AddEvent(Status("gate1", kT, v1::CAMERA_STATE_ONLINE, v1::STATUS_REASON_CONNECTED), kT);
  auto change = [&](int64_t t, v1::QualityState from, v1::QualityState to) {
    v1::Event e = At("gate1", t);
    e.mutable_video_quality()->set_check("frozen");
    e.mutable_video_quality()->set_from(from);
    e.mutable_video_quality()->set_to(to);
    e.mutable_video_quality()->set_score(to == v1::QUALITY_STATE_FAULT ? 1 : 0);
    top.AddEvent(e, t);
  };
  change(kT + kSecond, v1::QUALITY_STATE_LEARNING, v1::QUALITY_STATE_OK);  // no alarm
  change(kT + 2 * kSecond, v1::QUALITY_STATE_OK, v1::QUALITY_STATE_FAULT);
  std::string screen = top.Render(kT + 3 * kSecond);
  EXPECT_NE(screen.find("gate1  QUALITY  frozen (score 1.00)\n"), std::string::npos) << screen;
  EXPECT_NE(Row(screen, "gate1").find("quality"), std::string::npos) << screen;
  change(kT + 43 * kSecond, v1::QUALITY_STATE_FAULT, v1::QUALITY_STATE_OK);
  screen = top.Render(kT + 44 * kSecond);
  EXPECT_NE(screen.find("QUALITY  frozen (score 1.00) (ok again after 41.0s)\n"),
            std::string::npos)
      << screen;
}

TEST_F(TopModelTest, HeaderSaysEvidenceStoppedWhileTheDiskIsFull) {
  TopModel top;
  v1::StatusResponse status;
  status.set_node_id("n");
  status.mutable_evidence()->set_stopped(true);
  top.SetStatus(status, kT);
  std::string screen = top.Render(kT + kSecond);
  EXPECT_NE(screen.find("EVIDENCE STOPPED (disk full)"), std::string::npos) << screen;
  status.mutable_evidence()->set_stopped(false);
  top.SetStatus(status, kT + kSecond);
  screen = top.Render(kT + 2 * kSecond);
  EXPECT_EQ(screen.find("EVIDENCE STOPPED"), std::string::npos) << screen;
}

TEST_F(TopModelTest, HeaderSaysOverloaded) {
  TopModel top;
  v1::StatusResponse status;
  status.set_node_id("n");
  status.set_overloaded(true);
  status.set_overloaded_cameras(3);
  status.set_analysis_share(0.5);
  top.SetStatus(status, kT);
  std::string screen = top.Render(kT + kSecond);
  EXPECT_NE(screen.find("OVERLOADED (3 cameras, 50% of frames analysed)"), std::string::npos)
      << screen;
  status.set_overloaded(false);
  top.SetStatus(status, kT + kSecond);
  screen = top.Render(kT + 2 * kSecond);
  EXPECT_EQ(screen.find("OVERLOADED"), std::string::npos) << screen;
}

}  // namespace
}  // namespace skynet::ctl
