// The supervisor on recording fakes (no GStreamer, no ZeroMQ): the test drives each camera's
// session as its ingest would and reads what the cameras published. The same supervisor on the
// real parts: supervisor_integration_test.cc.
#include "daemon/supervisor.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/daemon/supervisor_configs.h"
#include "tests/testing/fake_frame_source.h"
#include "tests/testing/recording_event_sink.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet::daemon {
namespace {

using skynet::testing::FakeSession;
using skynet::testing::FakeSessionFactory;
using skynet::testing::RecordingEventSink;
using skynet::testing::RoadFrame;
using skynet::testing::TempDir;
using skynet::testing::WaitFor;

constexpr char kUrl[] = "rtsp://127.0.0.1:8554/stream";

std::vector<std::string> Ids(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  return {ids.begin(), ids.end()};
}

// What every test here shares: fakes behind the supervisor, and ways to talk to it.
class SupervisorFixture : public ::testing::Test {
 protected:
  void Make(const Config& config) {
    auto sup = Supervisor::Create(config, &sessions_, &sink_, &clock_);
    ASSERT_TRUE(sup.ok()) << sup.status().ToString();
    sup_ = std::move(sup).value();
  }

  v1::Response Call(const std::function<void(v1::Request*)>& fill) {
    v1::Request r;
    fill(&r);
    return sup_->HandleRequest(r);
  }
  v1::Response Status(const std::string& camera = "") {
    return Call([&](v1::Request* r) { r->mutable_status()->set_camera_id(camera); });
  }
  // The status of one camera; a default one if there is none.
  v1::CameraStatusInfo CameraStatus(const std::string& id) {
    v1::Response r = Status(id);
    return r.ok() ? r.status().cameras(0) : v1::CameraStatusInfo();
  }
  // Brings camera `id`'s current session online and has `frames` frames analysed, one at a
  // time (the runner's queue holds two: pushing faster would drop frames).
  void Analyse(const std::string& id, int frames) {
    std::shared_ptr<FakeSession> s = sessions_.Latest(id);
    ASSERT_NE(s, nullptr) << id;
    ASSERT_TRUE(WaitFor([&] { return s->started(); })) << id;
    if (CameraStatus(id).state() != v1::CAMERA_STATE_ONLINE) {
      ASSERT_TRUE(s->GoOnline());
    }
    for (int i = 0; i < frames; ++i) {
      const uint64_t before = CameraStatus(id).frames_analysed();
      ASSERT_TRUE(s->PushFrame(RoadFrame(next_frame_++, false)));
      ASSERT_TRUE(WaitFor([&] { return CameraStatus(id).frames_analysed() > before; })) << id;
    }
  }

  FakeClock clock_;
  FakeSessionFactory sessions_;
  RecordingEventSink sink_{"sup"};
  std::unique_ptr<Supervisor> sup_;
  int next_frame_ = 0;
};

class SupervisorTest : public SupervisorFixture {
 protected:
  void SetUp() override { Make(config_); }

  const Config config_ = TwoCameras(kUrl);
};

TEST_F(SupervisorTest, ListsCamerasWithRedactedUrls) {
  v1::Response resp = Call([](v1::Request* r) { r->mutable_list_cameras(); });
  ASSERT_TRUE(resp.ok());
  ASSERT_EQ(resp.list_cameras().cameras_size(), 2);
  EXPECT_EQ(resp.list_cameras().cameras(0).name(), "A");
  EXPECT_EQ(resp.list_cameras().cameras(1).url(), "rtsp://***@127.0.0.1:9/stream");
  EXPECT_FALSE(resp.list_cameras().cameras(1).enabled());
}

TEST_F(SupervisorTest, EnabledCameraIsAnalysedDisabledOneReportsDisabled) {
  sup_->Start();
  Analyse("a", 5);
  EXPECT_FALSE(sessions_.Latest("b")->started());
  const v1::CameraStatusInfo a = CameraStatus("a");
  EXPECT_EQ(a.state(), v1::CAMERA_STATE_ONLINE);
  EXPECT_EQ(a.frames_analysed(), 5u);
  EXPECT_EQ(a.frames_in(), 5u);
  EXPECT_EQ(a.codec(), "h264");
  const v1::CameraStatusInfo b = CameraStatus("b");
  EXPECT_EQ(b.state(), v1::CAMERA_STATE_DISABLED);
  EXPECT_EQ(b.grade(), v1::GRADE_UNSPECIFIED);
  v1::Response all = Status();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all.status().cameras_size(), 2);
  EXPECT_EQ(all.status().node_id(), "sup");
  EXPECT_EQ(all.status().last_seq(), sink_.events().size());
  EXPECT_EQ(sup_->Heartbeat().cameras_online, 1u);
  EXPECT_EQ(sup_->Heartbeat().cameras_total, 2u);

  sup_->Stop();
  EXPECT_EQ(sup_->Heartbeat().cameras_online, 0u);
  EXPECT_TRUE(sessions_.Latest("a")->stopped());
  // a published online, then its final status when it stopped.
  const std::vector<v1::Event> status = sink_.Of(v1::Event::kCameraStatus, "a");
  ASSERT_EQ(status.size(), 2u);
  EXPECT_EQ(status[0].camera_status().state(), v1::CAMERA_STATE_ONLINE);
  EXPECT_EQ(status[1].camera_status().state(), v1::CAMERA_STATE_OFFLINE);
  EXPECT_EQ(status[1].camera_status().reason(), v1::STATUS_REASON_STOPPED);
  EXPECT_EQ(sink_.Count(v1::Event::kCameraStatus, "b"), 0u);
}

TEST_F(SupervisorTest, UnknownCameraIsAClearError) {
  v1::Response r = Status("nope");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "status: no camera with id 'nope'");
}

TEST_F(SupervisorTest, StatsCoverTheFeedAndEveryCamera) {
  FeedStats feed;
  feed.node_id = "sup";
  feed.queued = 3;
  feed.dropped = 1;
  feed.journal = true;
  feed.journal_errors = 2;
  sink_.SetStats(feed);
  sup_->Start();
  Analyse("a", 3);
  ingest::SessionStats session = sessions_.Latest("a")->stats();
  session.frames_in += 7;  // decoded, not delivered: dropped before the queue
  sessions_.Latest("a")->SetStats(session);

  const NodeStats stats = sup_->Stats();
  EXPECT_EQ(stats.feed.queued, 3u);
  EXPECT_EQ(stats.feed.dropped, 1u);
  EXPECT_EQ(stats.feed.journal_errors, 2u);
  ASSERT_EQ(stats.cameras.size(), 2u);
  const CameraStats& a = stats.cameras[0];
  EXPECT_EQ(a.camera_id, "a");
  EXPECT_EQ(a.session.frames_in - a.session.frames_delivered, 7u);
  EXPECT_EQ(a.frames_queued, 3u);
  EXPECT_EQ(a.frames_analysed, 3u);
  EXPECT_EQ(a.motion.frames, 3u);
  EXPECT_FALSE(a.vehicles);
  EXPECT_EQ(stats.cameras[1].camera_id, "b");
  EXPECT_EQ(stats.cameras[1].frames_analysed, 0u);
}

// --- Runtime changes --------------------------------------------------------------------------

const v1::CameraStatusInfo* Find(const v1::Response& r, const std::string& id) {
  for (const auto& c : r.status().cameras()) {
    if (c.id() == id) return &c;
  }
  return nullptr;
}

TEST_F(SupervisorTest, AddRemoveEnableDisableChangeOneCamera) {
  sup_->Start();
  Analyse("a", 3);
  const uint64_t a_session = CameraStatus("a").session_id();
  std::shared_ptr<FakeSession> a_ingest = sessions_.Latest("a");

  // Add by fields.
  v1::Response add = Call([&](v1::Request* r) {
    auto* a = r->mutable_add_camera();
    a->set_id("c");
    a->set_url(kUrl);
    a->set_analytics_fps(10);
  });
  ASSERT_TRUE(add.ok()) << add.error();
  EXPECT_EQ(add.camera_change().message(), "added, starting");
  Analyse("c", 3);
  EXPECT_EQ(sessions_.Latest("c")->options().url, kUrl);
  EXPECT_EQ(sessions_.Latest("c")->options().analytics_fps, 10);

  // Duplicates and bad values are refused with a clear error.
  v1::Response dup = Call([&](v1::Request* r) {
    r->mutable_add_camera()->set_id("a");
    r->mutable_add_camera()->set_url(kUrl);
  });
  EXPECT_FALSE(dup.ok());
  EXPECT_EQ(dup.error(), "add_camera: camera 'a' exists already");
  v1::Response bad_url = Call([&](v1::Request* r) {
    r->mutable_add_camera()->set_id("d");
    r->mutable_add_camera()->set_url("http://x/y");
  });
  EXPECT_EQ(bad_url.error(), "add_camera: camera d: url: must be rtsp://, rtsps:// or file://");
  v1::Response bad_yaml = Call([&](v1::Request* r) {
    r->mutable_add_camera()->set_yaml(std::string("id: d\nurl: ") + kUrl + "\nanalytics_fps: 99\n");
  });
  EXPECT_EQ(bad_yaml.error(), "add_camera:3:16: analytics_fps: must be > 0 and <= 60, got 99");
  EXPECT_EQ(sessions_.Count("d"), 0u);

  // Add by YAML, disabled: listed, not started.
  v1::Response add_yaml = Call([&](v1::Request* r) {
    r->mutable_add_camera()->set_yaml(std::string("id: d\nurl: ") + kUrl + "\nenabled: false\n");
  });
  ASSERT_TRUE(add_yaml.ok()) << add_yaml.error();
  EXPECT_EQ(add_yaml.camera_change().message(), "added, disabled");
  EXPECT_EQ(CameraStatus("d").state(), v1::CAMERA_STATE_DISABLED);
  v1::Response cams = Call([](v1::Request* r) { r->mutable_list_cameras(); });
  ASSERT_EQ(cams.list_cameras().cameras_size(), 4);
  EXPECT_FALSE(cams.list_cameras().cameras(0).runtime());
  EXPECT_TRUE(cams.list_cameras().cameras(3).runtime());
  sup_->WaitIdle();
  EXPECT_FALSE(sessions_.Latest("d")->started());
  // A disabled camera added at run time says so on the feed.
  ASSERT_EQ(sink_.Count(v1::Event::kCameraStatus, "d"), 1u);
  EXPECT_EQ(sink_.Of(v1::Event::kCameraStatus, "d")[0].camera_status().state(),
            v1::CAMERA_STATE_DISABLED);

  // Disable and enable c: a new session each time; a is left alone throughout.
  const uint64_t c_session = CameraStatus("c").session_id();
  std::shared_ptr<FakeSession> c_first = sessions_.Latest("c");
  v1::Response dis = Call([](v1::Request* r) { r->mutable_disable_camera()->set_camera_id("c"); });
  ASSERT_TRUE(dis.ok()) << dis.error();
  EXPECT_EQ(CameraStatus("c").state(), v1::CAMERA_STATE_DISABLED);
  EXPECT_NE(CameraStatus("c").session_id(), c_session);
  EXPECT_EQ(Call([](v1::Request* r) { r->mutable_disable_camera()->set_camera_id("c"); })
                .camera_change()
                .message(),
            "already disabled");
  sup_->WaitIdle();
  EXPECT_TRUE(c_first->stopped());
  EXPECT_TRUE(sessions_.released().empty());  // disabled, not gone
  ASSERT_TRUE(Call([](v1::Request* r) { r->mutable_enable_camera()->set_camera_id("c"); }).ok());
  EXPECT_EQ(sessions_.Count("c"), 3u);  // added, disabled, enabled
  Analyse("c", 1);
  EXPECT_EQ(CameraStatus("c").state(), v1::CAMERA_STATE_ONLINE);

  // Remove.
  std::shared_ptr<FakeSession> c_last = sessions_.Latest("c");
  v1::Response rm = Call([](v1::Request* r) { r->mutable_remove_camera()->set_camera_id("c"); });
  ASSERT_TRUE(rm.ok()) << rm.error();
  EXPECT_FALSE(Status("c").ok());
  EXPECT_EQ(Call([](v1::Request* r) { r->mutable_remove_camera()->set_camera_id("c"); }).error(),
            "remove_camera: no camera with id 'c'");
  EXPECT_EQ(Call([](v1::Request* r) { r->mutable_enable_camera()->set_camera_id("zz"); }).error(),
            "enable_camera: no camera with id 'zz'");

  sup_->WaitIdle();
  EXPECT_TRUE(c_last->stopped());
  // Its per-camera state (a clip recorder's video in memory) may go.
  EXPECT_EQ(sessions_.released(), std::vector<std::string>{"c"});
  EXPECT_EQ(sink_.Of(v1::Event::kCameraStatus, "c").back().camera_status().reason(),
            v1::STATUS_REASON_STOPPED);
  const v1::CameraStatusInfo a = CameraStatus("a");
  EXPECT_EQ(a.session_id(), a_session);
  EXPECT_EQ(a.state(), v1::CAMERA_STATE_ONLINE);
  EXPECT_FALSE(a_ingest->stopped());
}

TEST_F(SupervisorTest, CameraTheIngestRejectsIsNotAdded) {
  sessions_.FailNext(Status::InvalidArgument("url: no such plugin"));
  v1::Response add = Call([&](v1::Request* r) {
    r->mutable_add_camera()->set_id("x");
    r->mutable_add_camera()->set_url(kUrl);
  });
  EXPECT_FALSE(add.ok());
  EXPECT_EQ(add.error(), "add_camera: cameras.x: url: no such plugin");
  EXPECT_FALSE(Status("x").ok());

  sessions_.FailNext(Status::InvalidArgument("url: no such plugin"));
  auto sup = Supervisor::Create(config_, &sessions_, &sink_, &clock_);
  ASSERT_FALSE(sup.ok());
  EXPECT_EQ(sup.status().message(), "cameras.a: url: no such plugin");
}

TEST_F(SupervisorTest, SlowTeardownBlocksNeitherControlNorOtherCameras) {
  auto add_slow = [&] {
    return Call([&](v1::Request* r) {
      r->mutable_add_camera()->set_id("slow");
      r->mutable_add_camera()->set_url(kUrl);
    });
  };
  sup_->Start();
  ASSERT_TRUE(add_slow().ok());
  Analyse("slow", 1);
  Analyse("a", 1);
  std::shared_ptr<FakeSession> old = sessions_.Latest("slow");
  old->HoldStop();
  struct Release {  // even when an assertion fails, so that the supervisor can stop
    std::shared_ptr<FakeSession> s;
    ~Release() { s->ReleaseStop(); }
  } guard{old};

  ASSERT_TRUE(Call([](v1::Request* r) { r->mutable_remove_camera()->set_camera_id("slow"); }).ok());
  ASSERT_TRUE(WaitFor([&] { return old->stop_held(); }));
  // The teardown hangs; control answers (it could not, were it waiting for the teardown) and
  // camera a keeps being analysed.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Status().ok());
  Analyse("a", 3);
  // Added again while its old session is still stopping: listed at once, started only after.
  ASSERT_TRUE(add_slow().ok());
  EXPECT_EQ(CameraStatus("slow").state(), v1::CAMERA_STATE_CONNECTING);
  EXPECT_EQ(CameraStatus("slow").frames_in(), 0u);
  std::shared_ptr<FakeSession> fresh = sessions_.Latest("slow");
  ASSERT_NE(fresh, old);
  EXPECT_FALSE(fresh->started());
  EXPECT_TRUE(old->stop_held());

  old->ReleaseStop();
  sup_->WaitIdle();
  EXPECT_TRUE(old->stopped());
  EXPECT_TRUE(fresh->started());
  Analyse("slow", 1);
  EXPECT_EQ(CameraStatus("slow").state(), v1::CAMERA_STATE_ONLINE);
  // The old session's final status came before anything of the new one.
  const std::vector<v1::Event> slow = sink_.Of(v1::Event::kCameraStatus, "slow");
  ASSERT_GE(slow.size(), 3u);
  EXPECT_EQ(slow[slow.size() - 2].camera_status().reason(), v1::STATUS_REASON_STOPPED);
  EXPECT_EQ(slow.back().camera_status().state(), v1::CAMERA_STATE_ONLINE);
  sup_->Stop();
}

// --- Reload -------------------------------------------------------------------------------------

// A supervisor built from a config file, for reloads.
class ReloadTest : public SupervisorFixture {
 protected:
  void SetUp() override {
    path_ = dir_.File("skynetd.yaml");
    WriteConfig({{"a", 10}, {"b", 10}, {"c", 10}});
    auto config = LoadConfigFile(path_);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    Make(*config);
  }

  void WriteConfig(const std::vector<std::pair<std::string, double>>& cameras,
                   const std::string& extra = "") {
    WriteReloadConfig(path_, kUrl, cameras, extra);
  }

  TempDir dir_;
  std::string path_;
};

TEST_F(ReloadTest, OnlyTheChangedCameraRestarts) {
  sup_->Start();
  for (const char* id : {"a", "b", "c"}) Analyse(id, 2);
  const v1::Response before = Status();

  // b changes, c goes, d comes, a stays.
  WriteConfig({{"a", 10}, {"b", 7}, {"d", 10}});
  Result<v1::ReloadResponse> r = sup_->Reload();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Ids(r->unchanged()), std::vector<std::string>{"a"});
  EXPECT_EQ(Ids(r->restarted()), std::vector<std::string>{"b"});
  EXPECT_EQ(Ids(r->added()), std::vector<std::string>{"d"});
  EXPECT_EQ(Ids(r->removed()), std::vector<std::string>{"c"});
  EXPECT_EQ(r->warnings_size(), 0);

  sup_->WaitIdle();
  for (const char* id : {"a", "b", "d"}) Analyse(id, 2);
  const v1::Response after = Status();
  ASSERT_EQ(after.status().cameras_size(), 3);
  // a kept its session: same identity, its counters went on growing, no new session.
  EXPECT_EQ(Find(after, "a")->session_id(), Find(before, "a")->session_id());
  EXPECT_EQ(Find(after, "a")->frames_in(), 4u);
  EXPECT_EQ(sessions_.Count("a"), 1u);
  EXPECT_FALSE(sessions_.Latest("a")->stopped());
  // b restarted with its new settings; c stopped.
  EXPECT_NE(Find(after, "b")->session_id(), Find(before, "b")->session_id());
  EXPECT_EQ(sessions_.Count("b"), 2u);
  EXPECT_EQ(sessions_.Latest("b")->options().analytics_fps, 7);
  EXPECT_EQ(Find(after, "c"), nullptr);
  EXPECT_TRUE(sessions_.Latest("c")->stopped());

  // The same file again: nothing restarts.
  Result<v1::ReloadResponse> again = sup_->Reload();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unchanged_size(), 3);
  EXPECT_EQ(again->restarted_size() + again->added_size() + again->removed_size(), 0);
  EXPECT_EQ(sessions_.Count("b"), 2u);
}

TEST_F(ReloadTest, MotionOptionsCountAsAChange) {
  WriteConfig({{"a", 10}, {"b", 10}, {"c", 10}}, "    motion:\n      threshold: 30\n");
  Result<v1::ReloadResponse> r = sup_->Reload();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Ids(r->restarted()), std::vector<std::string>{"c"});
}

// Once missing from a hand-written comparison: a reload that changed it kept the old tracker.
TEST_F(ReloadTest, TrackerSplitMergedCountsAsAChange) {
  WriteConfig({{"a", 10}, {"b", 10}, {"c", 10}},
              "    vehicles:\n      tracker: {split_merged: false}\n");
  Result<v1::ReloadResponse> r = sup_->Reload();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::vector<std::string>(r->restarted().begin(), r->restarted().end()),
            std::vector<std::string>{"c"});
}

TEST_F(ReloadTest, InvalidFileIsRejectedWithItsPlaceAndTheRunningConfigStays) {
  sup_->Start();
  const v1::Response before = Status();
  WriteConfig({{"a", 10}, {"b", 99}});
  Result<v1::ReloadResponse> r = sup_->Reload();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            path_ + ":9:20: cameras[1].analytics_fps: must be > 0 and <= 60, got 99");
  v1::Response resp = Call([](v1::Request* req) { req->mutable_reload(); });
  EXPECT_FALSE(resp.ok());
  EXPECT_EQ(resp.error(), "reload rejected, running config kept: " + r.status().message());
  const v1::Response after = Status();
  ASSERT_EQ(after.status().cameras_size(), 3);
  for (const char* id : {"a", "b", "c"}) {
    EXPECT_EQ(Find(after, id)->session_id(), Find(before, id)->session_id()) << id;
    EXPECT_EQ(sessions_.Count(id), 1u) << id;
  }
}

// Issue 14 item 3: files that do not list their cameras would have stopped every camera.
TEST_F(ReloadTest, FileWithoutCamerasIsRejectedAndNothingStops) {
  sup_->Start();
  const v1::Response before = Status();
  for (const std::string text : {"", "# only a comment\n", "node_id: reload-test\ncameras:\n"}) {
    std::ofstream(path_, std::ios::trunc) << text;
    Result<v1::ReloadResponse> r = sup_->Reload();
    ASSERT_FALSE(r.ok()) << "'" << text << "'";
    EXPECT_EQ(r.status().message().rfind(path_ + ": cameras: ", 0), 0u) << r.status().message();
  }
  std::filesystem::remove(path_);
  std::filesystem::create_directory(path_);
  Result<v1::ReloadResponse> dir = sup_->Reload();
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().message(), path_ + ": cannot read config: is a directory");
  const v1::Response after = Status();
  ASSERT_EQ(after.status().cameras_size(), 3);
  for (const char* id : {"a", "b", "c"}) {
    EXPECT_EQ(Find(after, id)->session_id(), Find(before, id)->session_id()) << id;
    EXPECT_EQ(sessions_.Count(id), 1u) << id;
  }
}

TEST_F(ReloadTest, CameraTheIngestRejectsFailsTheReloadAndChangesNothing) {
  sup_->Start();
  WriteConfig({{"a", 10}, {"b", 7}, {"c", 10}});
  sessions_.FailNext(Status::InvalidArgument("url: no such plugin"));
  Result<v1::ReloadResponse> r = sup_->Reload();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "cameras.b: url: no such plugin");
  sup_->WaitIdle();
  EXPECT_EQ(sessions_.Count("b"), 1u);
  EXPECT_FALSE(sessions_.Latest("b")->stopped());
}

TEST_F(ReloadTest, StartOnlySettingsWarnAndRuntimeCamerasAreNamed) {
  ASSERT_TRUE(Call([](v1::Request* r) {
                r->mutable_add_camera()->set_id("extra");
                r->mutable_add_camera()->set_url(kUrl);
              }).ok());
  {
    std::ofstream f(path_);
    f << "node_id: renamed\ncameras:\n  - id: a\n    url: " << kUrl << "\n    analytics_fps: 10\n";
  }
  Result<v1::ReloadResponse> r = sup_->Reload();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Ids(r->removed_runtime()), std::vector<std::string>{"extra"});
  EXPECT_EQ(r->removed_size(), 3);
  ASSERT_EQ(r->warnings_size(), 2);  // node_id, analytics_workers (1 -> default)
  EXPECT_EQ(r->warnings(0),
            "node_id ('reload-test' -> 'renamed') changed: applies at the next start of skynetd");
}

}  // namespace
}  // namespace skynet::daemon
