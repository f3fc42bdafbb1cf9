#include "daemon/vehicle_pipeline.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "pipeline/analytics/motion_detector.h"
#include "tests/pipeline/analytics/vehicle_scene.h"

namespace skynet::daemon {
namespace {

using analytics::testing::DrawCar;
using analytics::testing::kFrameUs;
using analytics::testing::RoadScene;

constexpr int64_t kStartUs = 1'700'000'000'000'000;

// Straight down at 20 px per metre on a 320x180 frame.
VehiclesConfig CrossingConfig() {
  VehiclesConfig v;
  v.enabled = true;
  analytics::CalibrationConfig c;
  c.image_points = {cv::Point2f(0, 0), {1, 0}, {1, 1}, {0, 1}};
  c.ground_points = {cv::Point2f(0, 0), {16, 0}, {16, 9}, {0, 9}};
  v.analytics.calibration = c;
  v.analytics.rules.lines.push_back({"middle", {0.5f, 1.f}, {0.5f, 0.f}});  // forward: rightwards
  v.analytics.rules.lanes.push_back(
      {"eastbound", {{0.f, 0.f}, {1.f, 0.f}, {1.f, 1.f}, {0.f, 1.f}}, {1.f, 0.f}});
  return v;
}

// A decoded source at `scale` times the size of `bgr`, as ingest hands it over (I420 planes
// viewing one buffer that the SourceImage keeps alive).
std::shared_ptr<const SourceImage> SourceOf(const cv::Mat& bgr, int scale) {
  cv::Mat big;
  cv::resize(bgr, big, cv::Size(), scale, scale, cv::INTER_LINEAR);
  auto buffer = std::make_shared<cv::Mat>();
  cv::cvtColor(big, *buffer, cv::COLOR_BGR2YUV_I420);
  const int w = big.cols, h = big.rows;
  auto* image = new SourceImage;
  image->width = w;
  image->height = h;
  uchar* p = buffer->data;
  image->planes[0] = cv::Mat(h, w, CV_8UC1, p);
  image->planes[1] = cv::Mat(h / 2, w / 2, CV_8UC1, p + w * h);
  image->planes[2] = cv::Mat(h / 2, w / 2, CV_8UC1, p + w * h + w * h / 4);
  return std::shared_ptr<const SourceImage>(image, [buffer](const SourceImage* i) { delete i; });
}

// Runs a red car across the scene through the motion detector and the pipeline, like
// CameraRunner::Analyse(); returns every event. `source_scale` > 0: each frame carries its
// decoded source at that many times the detect size.
std::vector<v1::Event> RunCrossing(VehiclePipeline* pipeline, int source_scale = 0) {
  auto motion = std::move(analytics::MotionDetector::Create({})).value();
  RoadScene scene;
  std::vector<v1::Event> events;
  for (int i = 0; i < 80; ++i) {
    Frame frame;
    frame.image = scene.road().clone();
    // 4 x 1.6 m, 7 px per frame at 10 fps: 3.5 m/s = 12.6 km/h.
    DrawCar(frame.image, cv::Rect(-80 + 7 * i, 90, 80, 32), cv::Scalar(35, 30, 190));
    RoadScene::AddNoise(frame.image, i);
    frame.capture_time_us = kStartUs + i * kFrameUs;
    frame.stream_time_us = i * kFrameUs;
    if (source_scale > 0) frame.source = SourceOf(frame.image, source_scale);
    const analytics::MotionObservation m = motion->Process(frame.image, frame.capture_time_us);
    pipeline->Process(frame, m, [&](v1::Event e) { events.push_back(std::move(e)); });
  }
  return events;
}

TEST(VehiclePipelineTest, CarCrossingGivesNewLineCrossedAndEndedWithJpegSnapshots) {
  auto p = VehiclePipeline::Create("cam1", CrossingConfig());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const std::vector<v1::Event> events = RunCrossing(p->get());

  const v1::Event* created = nullptr;
  const v1::Event* crossed = nullptr;
  const v1::Event* ended = nullptr;
  int crossings = 0, updates = 0;
  for (const v1::Event& e : events) {
    EXPECT_EQ(e.camera_id(), "cam1");
    EXPECT_GE(e.capture_time_us(), kStartUs);
    switch (e.payload_case()) {
      case v1::Event::kVehicleNew:
        created = created ? created : &e;
        break;
      case v1::Event::kVehicleUpdated:
        ++updates;
        // Pixels only when the update is about a better snapshot.
        EXPECT_EQ(e.vehicle_updated().track().has_snapshot(),
                  e.vehicle_updated().changes().snapshot());
        break;
      case v1::Event::kVehicleEnded:
        ended = &e;
        break;
      case v1::Event::kLineCrossed:
        crossed = &e;
        ++crossings;
        break;
      default:
        break;
    }
  }
  ASSERT_NE(created, nullptr);
  ASSERT_NE(crossed, nullptr);
  ASSERT_NE(ended, nullptr);
  EXPECT_EQ(crossings, 1);
  EXPECT_LE(updates, 6);  // significant changes only

  // (Its class is still provisional: confirmed while half in the frame.)
  const v1::VehicleTrack& first = created->vehicle_new().track();
  EXPECT_EQ(first.lane(), "eastbound");
  EXPECT_TRUE(first.calibrated());

  const v1::LineCrossed& l = crossed->line_crossed();
  EXPECT_EQ(l.line_id(), "middle");
  EXPECT_EQ(l.track_id(), first.track_id());
  EXPECT_EQ(l.direction(), 1);
  EXPECT_NEAR(l.speed_kmh(), 12.6, 1.26);  // within 10%
  EXPECT_NEAR(l.anchor().x(), 0.5, 0.05);

  const v1::VehicleTrack& last = ended->vehicle_ended().track();
  EXPECT_EQ(last.track_id(), first.track_id());
  EXPECT_EQ(last.vehicle_class(), v1::VEHICLE_CLASS_CAR);
  EXPECT_EQ(last.colour(), v1::VEHICLE_COLOUR_RED);
  // Sizes in metres: the largest seen is the whole car (4 m across the image; at the end it is
  // leaving the frame).
  float widest = 0;
  for (const v1::Event& e : events) {
    if (e.has_vehicle_updated())
      widest = std::max(widest, e.vehicle_updated().track().size().width_m());
  }
  EXPECT_NEAR(widest, 4.0, 0.8);
  EXPECT_NEAR(last.heading_deg(), 0, 10);
  EXPECT_TRUE(last.trajectory().length_in_metres());
  EXPECT_GT(last.trajectory().length(), 5);
  EXPECT_GT(last.trajectory().duration_ms(), 1000);
  EXPECT_GT(last.trajectory().last().point().x(), last.trajectory().first().point().x());

  // The snapshot decodes: a crop of the box and the whole frame with the box drawn.
  ASSERT_TRUE(last.has_snapshot());
  const v1::VehicleSnapshot& s = last.snapshot();
  const std::vector<uchar> crop_bytes(s.crop_jpeg().begin(), s.crop_jpeg().end());
  const cv::Mat crop = cv::imdecode(crop_bytes, cv::IMREAD_COLOR);
  ASSERT_FALSE(crop.empty());
  EXPECT_LE(std::max(crop.cols, crop.rows), 256);
  EXPECT_NEAR(crop.cols, s.box().w() * 320, 2);
  const std::vector<uchar> frame_bytes(s.frame_jpeg().begin(), s.frame_jpeg().end());
  const cv::Mat full = cv::imdecode(frame_bytes, cv::IMREAD_COLOR);
  ASSERT_FALSE(full.empty());
  EXPECT_EQ(full.size(), cv::Size(320, 180));
  EXPECT_GT(s.score(), 0);
  EXPECT_GE(s.capture_time_us(), kStartUs);
  // The new event carries the first snapshot too.
  EXPECT_FALSE(first.snapshot().crop_jpeg().empty());
  EXPECT_EQ((*p)->stats().encode_failures, 0u);
  EXPECT_EQ((*p)->stats().frames, 80u);
}

cv::Mat Decode(const std::string& jpeg) {
  return cv::imdecode(std::vector<uchar>(jpeg.begin(), jpeg.end()), cv::IMREAD_COLOR);
}

TEST(VehiclePipelineTest, EndedTrackGivesFullResolutionEvidenceWithinTheFrameCap) {
  VehiclesConfig config = CrossingConfig();
  config.snapshot_frames = 1;
  auto p = VehiclePipeline::Create("cam1", config);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::vector<std::pair<uint64_t, EvidenceSnapshot>> evidence;
  (*p)->set_evidence_sink(
      [&](uint64_t track, EvidenceSnapshot s) { evidence.emplace_back(track, std::move(s)); });
  const std::vector<v1::Event> events = RunCrossing(p->get(), 4);

  const v1::VehicleTrack* ended = nullptr;
  for (const v1::Event& e : events) {
    if (e.has_vehicle_ended()) ended = &e.vehicle_ended().track();
  }
  ASSERT_NE(ended, nullptr);
  ASSERT_EQ(evidence.size(), 1u);
  EXPECT_EQ(evidence[0].first, ended->track_id());
  const EvidenceSnapshot& s = evidence[0].second;
  EXPECT_EQ(s.scene_size, cv::Size(1280, 720));
  const cv::Mat scene = Decode(s.scene_jpeg);
  EXPECT_EQ(scene.size(), cv::Size(1280, 720));
  // The crop: the box at four times the detect size, plus the margin.
  const cv::Mat crop = Decode(s.crop_jpeg);
  ASSERT_FALSE(crop.empty());
  EXPECT_GE(crop.cols, s.box.width);
  EXPECT_GE(s.box.width, 4 * 60);
  EXPECT_NEAR(s.box.width, ended->snapshot().box().w() * 1280, 8);
  // Reddish: the car, not the road.
  const cv::Scalar mean = cv::mean(crop(cv::Rect(crop.cols / 4, crop.rows / 4, crop.cols / 2,
                                                 crop.rows / 2)));
  EXPECT_GT(mean[2], mean[1] + 40) << mean;
  // The feed's crop is cut from the source too, and still at most 256 px.
  const cv::Mat feed_crop = Decode(ended->snapshot().crop_jpeg());
  EXPECT_EQ(std::max(feed_crop.cols, feed_crop.rows), 256);

  const VehiclePipelineStats st = (*p)->stats();
  EXPECT_EQ(st.source_frames_held_max, 1u);
  EXPECT_EQ(st.source_frames_held, 0u);  // the track ended: nothing held
  EXPECT_EQ(st.evidence_snapshots, 1u);
  EXPECT_EQ(st.evidence_failures, 0u);
}

TEST(VehiclePipelineTest, NoSourceFramesHeldWithSnapshotFramesZero) {
  VehiclesConfig config = CrossingConfig();
  config.snapshot_frames = 0;
  auto p = VehiclePipeline::Create("cam1", config);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  int evidence = 0;
  (*p)->set_evidence_sink([&](uint64_t, EvidenceSnapshot) { ++evidence; });
  RunCrossing(p->get(), 2);
  EXPECT_EQ(evidence, 0);
  EXPECT_EQ((*p)->stats().source_frames_held_max, 0u);
}

TEST(EvidenceSnapshotTest, SourceToBgrConvertsAnOddRegion) {
  cv::Mat bgr(90, 160, CV_8UC3, cv::Scalar(40, 160, 220));
  const auto source = SourceOf(bgr, 1);
  const cv::Mat part = SourceToBgr(*source, cv::Rect(7, 9, 31, 17));
  ASSERT_FALSE(part.empty());
  EXPECT_EQ(part.size(), cv::Size(32, 18));  // widened to even coordinates
  const cv::Scalar m = cv::mean(part);
  EXPECT_NEAR(m[0], 40, 6);
  EXPECT_NEAR(m[1], 160, 6);
  EXPECT_NEAR(m[2], 220, 6);
  EXPECT_TRUE(SourceToBgr(*source, cv::Rect(500, 500, 10, 10)).empty());
}

TEST(VehiclePipelineTest, CreateNamesTheProblem) {
  VehiclesConfig v;
  v.enabled = true;
  v.backend = analytics::DetectorBackend::kDnn;
  v.detector.model_path = "/nonexistent/model.onnx";
  auto p = VehiclePipeline::Create("cam1", v);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("/nonexistent/model.onnx"), std::string::npos)
      << p.status().message();
  v.backend = analytics::DetectorBackend::kClassical;
  v.analytics.tracker.min_iou = 5;
  p = VehiclePipeline::Create("cam1", v);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("vehicles.tracker.min_iou"), std::string::npos)
      << p.status().message();
}

}  // namespace
}  // namespace skynet::daemon
