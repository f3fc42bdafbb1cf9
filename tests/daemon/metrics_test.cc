// The Prometheus text writer, the node's scrape from stats snapshots, and the watchdog's
// liveness rule: pure code, no sockets.
#include "daemon/metrics.h"

#include <gtest/gtest.h>

#include "daemon/metrics_report.h"
#include "daemon/service_notify.h"

namespace skynet::daemon {
namespace {

TEST(MetricsTextTest, WritesFamiliesSamplesAndEscapedLabels) {
  MetricsText m;
  m.Family("skynet_x_total", "counter", "an x");
  m.Sample("skynet_x_total", {{"camera", "a\"b\\c\nd"}}, 3);
  EXPECT_EQ(m.Take(),
            "# HELP skynet_x_total an x\n# TYPE skynet_x_total counter\n"
            "skynet_x_total{camera=\"a\\\"b\\\\c\\nd\"} 3\n");
}

TEST(MetricsTextTest, HistogramBucketsAreCumulative) {
  Histogram h;
  h.Observe(0.0004);  // first bucket
  h.Observe(0.003);   // le 0.004
  h.Observe(5.0);     // +Inf only
  MetricsText m;
  m.Family("t_seconds", "histogram", "t");
  m.HistogramSamples("t_seconds", {}, h.snapshot());
  const std::string text = m.Take();
  EXPECT_NE(text.find("t_seconds_bucket{le=\"0.0005\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_bucket{le=\"0.002\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_bucket{le=\"0.004\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_bucket{le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_count 3\n"), std::string::npos) << text;
}

TEST(RenderMetricsTest, ReportsCamerasFeedAndControlOnce) {
  NodeStats node;
  node.feed.node_id = "n1";
  node.feed.journal = true;
  node.feed.journal_bytes = 4096;
  node.feed.events[{"cam1", "line_crossed"}] = 7;
  node.feed.crossings[{"cam1", "count", -1}] = 7;
  for (const char* id : {"cam1", "cam2"}) {
    CameraStats c;
    c.camera_id = id;
    c.state = v1::CAMERA_STATE_ONLINE;
    c.queue_drops = 2;
    c.session.decode_errors = 1;
    c.vehicles = true;
    c.vehicle.dnn.failures = 4;
    if (std::string(id) == "cam1") {  // video quality: cam1 frozen, the rest ok or learning
      c.quality.resize(analytics::kQualityCheckCount, {analytics::QualityState::kOk, 0.1f});
      c.quality[int(analytics::QualityCheck::kFrozen)] = {analytics::QualityState::kFault, 1};
      c.quality[int(analytics::QualityCheck::kMoved)] = {analytics::QualityState::kLearning, 0};
    }
    c.overloaded = std::string(id) == "cam2";
    c.analysis_share = c.overloaded ? 0.5 : 1.0;
    node.cameras.push_back(c);
  }
  NodeExtras extras;
  extras.control_requests[{"reload", false}] = 1;
  const std::string text = RenderMetrics(node, extras, ProcessFigures{});
  auto has = [&](const std::string& s) { return text.find(s) != std::string::npos; };
  EXPECT_TRUE(has("skynet_camera_state{camera=\"cam2\",state=\"online\"} 1\n")) << text;
  EXPECT_TRUE(has("skynet_camera_state{camera=\"cam2\",state=\"offline\"} 0\n"));
  EXPECT_TRUE(has("skynet_camera_frames_dropped_total{camera=\"cam1\",cause=\"queue\"} 2\n"));
  EXPECT_TRUE(
      has("skynet_camera_frames_dropped_total{camera=\"cam1\",cause=\"decode_error\"} 1\n"));
  EXPECT_TRUE(has("skynet_dnn_detector_total{camera=\"cam1\",kind=\"failures\"} 4\n"));
  EXPECT_TRUE(
      has("skynet_line_crossings_total{camera=\"cam1\",line=\"count\","
          "direction=\"backward\"} 7\n"));
  EXPECT_TRUE(has("skynet_control_requests_total{command=\"reload\",result=\"error\"} 1\n"));
  EXPECT_TRUE(has("skynet_journal_bytes 4096\n"));
  EXPECT_TRUE(has("skynet_video_quality_state{camera=\"cam1\",check=\"frozen\"} 1\n")) << text;
  EXPECT_TRUE(has("skynet_video_quality_state{camera=\"cam1\",check=\"moved\"} -1\n"));
  EXPECT_TRUE(has("skynet_video_quality_state{camera=\"cam1\",check=\"blur\"} 0\n"));
  EXPECT_TRUE(has("skynet_video_quality_score{camera=\"cam1\",check=\"frozen\"} 1\n"));
  EXPECT_FALSE(has("skynet_video_quality_state{camera=\"cam2\""));  // diagnostics off
  EXPECT_TRUE(has("skynet_camera_analysis_share{camera=\"cam2\"} 0.5\n"));
  EXPECT_TRUE(has("skynet_camera_overloaded{camera=\"cam1\"} 0\n"));
  EXPECT_TRUE(has("skynet_overloaded 1\n"));
  EXPECT_TRUE(has("skynet_overloaded_cameras 1\n"));
  // One HELP/TYPE per family however many cameras report it.
  size_t types = 0;
  for (size_t at = 0; (at = text.find("# TYPE skynet_camera_up ", at)) != std::string::npos; ++at) {
    ++types;
  }
  EXPECT_EQ(types, 1u);
}

TEST(LivenessMonitorTest, AThreadThatIsNeitherIdleNorProgressingIsStuck) {
  std::vector<LivenessMonitor::Sample> workers = {{0, true}, {0, false}};
  LivenessMonitor m;
  m.Add("analytics worker", [&] { return workers; });
  EXPECT_TRUE(m.Check().ok());  // the first check only records
  workers = {{0, true}, {5, false}};
  EXPECT_TRUE(m.Check().ok());  // worker 1 progressed, worker 0 idle
  workers = {{0, false}, {9, false}};
  EXPECT_TRUE(m.Check().ok());     // worker 0 was idle at the last check: just woke up
  const Status stuck = m.Check();  // worker 0 and 1 busy twice with no pass done
  ASSERT_FALSE(stuck.ok());
  EXPECT_NE(stuck.message().find("analytics worker 0"), std::string::npos) << stuck.message();
  EXPECT_NE(stuck.message().find("analytics worker 1"), std::string::npos) << stuck.message();
  workers = {{1, false}, {9, true}};
  EXPECT_TRUE(m.Check().ok());
}

}  // namespace
}  // namespace skynet::daemon
