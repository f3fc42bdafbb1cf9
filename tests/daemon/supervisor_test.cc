#include "daemon/supervisor.h"

#include <gtest/gtest.h>

#include "tests/pipeline/ingest/ingest_test_util.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace skynet::daemon {
namespace {

using skynet::testing::TempDir;
using skynet::testing::WaitFor;

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto video = ingest::testing::MakeTestVideo(dir_.path(), {});
    ASSERT_TRUE(video.ok()) << video.status().ToString();
    CameraConfig a;
    a.id = "a";
    a.name = "A";
    a.url = *video;  // a file:// URL
    a.analytics_fps = 10;
    CameraConfig b;
    b.id = "b";
    b.url = "rtsp://admin:hunter2@127.0.0.1:9/stream";
    b.enabled = false;
    config_.node_id = "sup";
    config_.analytics_workers = 1;
    config_.cameras = {a, b};
    EventBusOptions bus_options;
    bus_options.endpoint = dir_.Ipc("feed");
    bus_options.heartbeat_interval_ms = 0;
    auto bus = EventBus::Create(bus_options);
    ASSERT_TRUE(bus.ok());
    bus_ = std::move(bus).value();
    auto sup = Supervisor::Create(config_, bus_.get());
    ASSERT_TRUE(sup.ok()) << sup.status().ToString();
    sup_ = std::move(sup).value();
  }

  v1::Response Status(const std::string& camera = "") {
    v1::Request r;
    r.mutable_status()->set_camera_id(camera);
    return sup_->HandleRequest(r);
  }

  TempDir dir_;
  Config config_;
  std::unique_ptr<EventBus> bus_;
  std::unique_ptr<Supervisor> sup_;
};

TEST_F(SupervisorTest, ListsCamerasWithRedactedUrls) {
  v1::Request r;
  r.mutable_list_cameras();
  v1::Response resp = sup_->HandleRequest(r);
  ASSERT_TRUE(resp.ok());
  ASSERT_EQ(resp.list_cameras().cameras_size(), 2);
  EXPECT_EQ(resp.list_cameras().cameras(0).name(), "A");
  EXPECT_EQ(resp.list_cameras().cameras(1).url(), "rtsp://***@127.0.0.1:9/stream");
  EXPECT_FALSE(resp.list_cameras().cameras(1).enabled());
}

TEST_F(SupervisorTest, EnabledCameraIsAnalysedDisabledOneReportsDisabled) {
  sup_->Start();
  ASSERT_TRUE(WaitFor([&] {
    v1::Response r = Status("a");
    return r.ok() && r.status().cameras(0).state() == v1::CAMERA_STATE_ONLINE &&
           r.status().cameras(0).frames_analysed() >= 5;
  }));
  v1::Response b = Status("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.status().cameras(0).state(), v1::CAMERA_STATE_DISABLED);
  EXPECT_EQ(b.status().cameras(0).grade(), v1::GRADE_UNSPECIFIED);
  v1::Response all = Status();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all.status().cameras_size(), 2);
  EXPECT_EQ(all.status().node_id(), bus_->node_id());
  EXPECT_EQ(sup_->Heartbeat().cameras_online, 1u);
  EXPECT_EQ(sup_->Heartbeat().cameras_total, 2u);
  sup_->Stop();
  EXPECT_EQ(sup_->Heartbeat().cameras_online, 0u);
}

TEST_F(SupervisorTest, UnknownCameraIsAClearError) {
  v1::Response r = Status("nope");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "status: no camera with id 'nope'");
}

}  // namespace
}  // namespace skynet::daemon
