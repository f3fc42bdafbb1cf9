#include "pipeline/analytics/motion_detector.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

namespace skynet::analytics {
namespace {

constexpr int kWidth = 320;
constexpr int kHeight = 180;
constexpr int kMargin = 8;               // canvas border, so shifted frames have real content
constexpr int64_t kFrameUs = 100'000;    // 10 fps
constexpr int64_t kStartUs = 5'000'000;  // arbitrary monotonic origin

// A synthetic fixed camera: a textured road (patches, lane markings, fine texture) that frames
// are cropped from, plus per-frame sensor noise that is the same for the same frame index.
class Scene {
 public:
  // `lo`..`hi`: gray levels of the texture. A dark scene uses a low range.
  explicit Scene(int lo = 50, int hi = 200, cv::Size size = {kWidth, kHeight}) : size_(size) {
    cv::RNG rng(42);
    canvas_.create(size.height + 2 * kMargin, size.width + 2 * kMargin, CV_8UC1);
    canvas_.setTo((lo + hi) / 2);
    for (int i = 0; i < 80; ++i) {
      const cv::Point p(rng.uniform(0, canvas_.cols), rng.uniform(0, canvas_.rows));
      const cv::Size s(rng.uniform(4, size.width / 6), rng.uniform(4, size.height / 6));
      cv::rectangle(canvas_, cv::Rect(p, s), rng.uniform(lo, hi + 1), cv::FILLED);
    }
    cv::Mat fine(canvas_.size(), CV_8UC1);
    rng.fill(fine, cv::RNG::UNIFORM, 0, 16);
    canvas_ += fine;
    canvas_ -= cv::Scalar(8);
    for (int x = 0; x < canvas_.cols; x += size.width / 8) {  // lane markings
      cv::rectangle(canvas_, cv::Rect(x, canvas_.rows / 2, size.width / 16, 2), hi, cv::FILLED);
    }
  }

  // The frame seen with the camera displaced by `shift` px, everything `brightness` levels
  // brighter, and noise seeded by `index`.
  cv::Mat Frame(int index, cv::Point shift = {}, int brightness = 0) const {
    cv::Mat frame = canvas_(cv::Rect(cv::Point(kMargin, kMargin) + shift, size_)).clone();
    cv::Mat noise(size_, CV_16SC1);
    cv::RNG rng(1000 + index);
    rng.fill(noise, cv::RNG::NORMAL, 0, 2);
    cv::Mat out;
    frame.convertTo(out, CV_16SC1);
    out += noise + cv::Scalar(brightness);
    out.convertTo(frame, CV_8UC1);  // saturates
    return frame;
  }

 private:
  cv::Size size_;
  cv::Mat canvas_;
};

// A 30x15 px vehicle: dark body, light roof.
cv::Rect DrawVehicle(cv::Mat& frame, int x, int y) {
  const cv::Rect body(x, y, 30, 15);
  cv::rectangle(frame, body, 25, cv::FILLED);
  cv::rectangle(frame, cv::Rect(x + 8, y + 3, 12, 9), 235, cv::FILLED);
  return body & cv::Rect(0, 0, frame.cols, frame.rows);
}

int64_t TimeOf(int index) { return kStartUs + index * kFrameUs; }

std::unique_ptr<MotionDetector> MakeDetector(const MotionOptions& options = {}) {
  auto detector = MotionDetector::Create(options);
  EXPECT_TRUE(detector.ok()) << detector.status().ToString();
  return std::move(detector).value();
}

bool Overlaps(const MotionRegion& region, const cv::Rect& object, cv::Size size) {
  const cv::Rect2f norm(static_cast<float>(object.x) / size.width,
                        static_cast<float>(object.y) / size.height,
                        static_cast<float>(object.width) / size.width,
                        static_cast<float>(object.height) / size.height);
  return (region.box & norm).area() > 0;
}

struct EventLog {
  std::vector<std::pair<int, MotionObservation>> events;  // frame index, observation
  int Count(MotionEventType type) const {
    int n = 0;
    for (const auto& [i, o] : events) n += o.event == type;
    return n;
  }
  void Add(int index, const MotionObservation& o) {
    if (o.event != MotionEventType::kNone) events.emplace_back(index, o);
  }
};

TEST(MotionDetectorTest, StaticSceneYieldsNoEvents) {
  Scene scene;
  auto detector = MakeDetector();
  for (int i = 0; i < 100; ++i) {
    const MotionObservation o = detector->Process(scene.Frame(i), TimeOf(i));
    EXPECT_EQ(o.event, MotionEventType::kNone) << "frame " << i;
    EXPECT_TRUE(o.regions.empty()) << "frame " << i;
    EXPECT_FALSE(o.active);
    EXPECT_FALSE(o.global_change);
    EXPECT_LT(o.changed_fraction, 0.01f);
  }
}

TEST(MotionDetectorTest, MovingVehicleStartsOnceAndEndsAfterQuietPeriod) {
  Scene scene;
  MotionOptions options;
  auto detector = MakeDetector(options);
  EventLog log;
  int index = 0;
  int last_visible = -1, last_with_regions = -1, frames_with_vehicle = 0, frames_overlapping = 0;
  for (int i = 0; i < 5; ++i, ++index) {
    log.Add(index, detector->Process(scene.Frame(index), TimeOf(index)));
  }
  for (int x = -30; x <= kWidth + 4; x += 4, ++index) {
    cv::Mat frame = scene.Frame(index);
    const cv::Rect vehicle = DrawVehicle(frame, x, 100);
    const MotionObservation o = detector->Process(frame, TimeOf(index));
    log.Add(index, o);
    if (vehicle.area() > 0) last_visible = index;
    if (!o.regions.empty()) last_with_regions = index;
    if (x >= 0 && x + 30 <= kWidth) {
      ++frames_with_vehicle;
      bool overlap = false;
      for (const MotionRegion& r : o.regions) overlap |= Overlaps(r, vehicle, frame.size());
      frames_overlapping += overlap;
      for (const MotionRegion& r : o.regions) {
        EXPECT_GT(r.fill, 0.f);
        EXPECT_LE(r.fill, 1.f);
      }
    }
  }
  for (int i = 0; i < 40; ++i, ++index) {
    log.Add(index, detector->Process(scene.Frame(index), TimeOf(index)));
  }

  EXPECT_EQ(frames_overlapping, frames_with_vehicle);
  ASSERT_EQ(log.Count(MotionEventType::kStarted), 1);
  ASSERT_EQ(log.Count(MotionEventType::kEnded), 1);
  const auto& [start_index, started] = log.events.front();
  const auto& [end_index, ended] = log.events.back();
  EXPECT_EQ(started.event, MotionEventType::kStarted);
  EXPECT_EQ(ended.event, MotionEventType::kEnded);
  EXPECT_EQ(started.motion_id, 1u);
  EXPECT_EQ(ended.motion_id, 1u);
  EXPECT_TRUE(started.active);
  EXPECT_FALSE(ended.active);
  EXPECT_LE(start_index, 5 + options.start_frames + 2);  // confirmed soon after entering
  // Ends after the quiet period that follows the last frame with motion, which is the
  // vehicle leaving (its last few columns may be below the minimum area).
  EXPECT_GE(last_with_regions, last_visible - 3);
  EXPECT_EQ(TimeOf(end_index) - TimeOf(last_with_regions), int64_t{options.end_quiet_ms} * 1000);
  EXPECT_EQ(ended.started_at_us, started.started_at_us);
  EXPECT_LE(started.started_at_us, TimeOf(start_index));
  EXPECT_GT(ended.duration_ms, 7000);  // ~90 frames of motion at 10 fps
  EXPECT_GT(ended.peak_changed_fraction, 0.f);
  int64_t last_update = TimeOf(start_index);
  for (const auto& [i, o] : log.events) {
    if (o.event != MotionEventType::kUpdated) continue;
    EXPECT_GE(TimeOf(i) - last_update, int64_t{options.update_interval_ms} * 1000);
    EXPECT_FALSE(o.regions.empty());
    last_update = TimeOf(i);
  }
  EXPECT_GE(log.Count(MotionEventType::kUpdated), 5);
}

TEST(MotionDetectorTest, MaskedVehicleYieldsNothing) {
  Scene scene;
  MotionOptions options;
  options.masks.push_back({{0.f, 0.45f}, {1.f, 0.45f}, {1.f, 0.75f}, {0.f, 0.75f}});
  auto detector = MakeDetector(options);
  for (int i = 0, x = -30; x <= kWidth; ++i, x += 4) {
    cv::Mat frame = scene.Frame(i);
    DrawVehicle(frame, x, 100);  // rows 100-114, inside 81-135
    const MotionObservation o = detector->Process(frame, TimeOf(i));
    EXPECT_EQ(o.event, MotionEventType::kNone) << "frame " << i;
    EXPECT_TRUE(o.regions.empty()) << "frame " << i;
  }
}

TEST(MotionDetectorTest, BrightnessRampIsNotMotion) {
  Scene scene(10, 50);  // dark enough that +200 does not saturate
  auto detector = MakeDetector();
  for (int i = 0; i < 100; ++i) {
    const MotionObservation o = detector->Process(scene.Frame(i, {}, 2 * i), TimeOf(i));
    EXPECT_EQ(o.event, MotionEventType::kNone) << "frame " << i;
    EXPECT_TRUE(o.regions.empty()) << "frame " << i;
    EXPECT_FALSE(o.global_change) << "followed, not re-seeded; frame " << i;
  }
}

TEST(MotionDetectorTest, ExposureGainRampIsNotMotion) {
  // Auto-exposure opening up: every pixel 2% brighter per frame (multiplicative), 40 frames.
  Scene scene(20, 130);
  auto detector = MakeDetector();
  for (int i = 0; i < 40; ++i) {
    cv::Mat frame;
    scene.Frame(i).convertTo(frame, CV_8U, 1.0 + 0.02 * i);
    const MotionObservation o = detector->Process(frame, TimeOf(i));
    EXPECT_EQ(o.event, MotionEventType::kNone) << "frame " << i;
    EXPECT_TRUE(o.regions.empty()) << "frame " << i;
    EXPECT_FALSE(o.global_change) << "frame " << i;
  }
}

TEST(MotionDetectorTest, SuddenBrightnessJumpIsSuppressedAsGlobalChange) {
  Scene scene;
  auto detector = MakeDetector();
  int global_changes = 0;
  for (int i = 0; i < 60; ++i) {
    const MotionObservation o = detector->Process(scene.Frame(i, {}, i >= 30 ? 60 : 0), TimeOf(i));
    EXPECT_NE(o.event, MotionEventType::kStarted) << "frame " << i;
    EXPECT_TRUE(o.regions.empty()) << "frame " << i;
    global_changes += o.global_change;
    if (i == 30) {
      EXPECT_TRUE(o.global_change);
    }
  }
  EXPECT_EQ(global_changes, 1);
  EXPECT_EQ(detector->stats().global_changes, 1u);
}

TEST(MotionDetectorTest, CameraShakeIsNotMotion) {
  Scene scene;
  auto detector = MakeDetector();
  int compensated = 0;
  for (int i = 0; i < 100; ++i) {
    const cv::Point shift = (i % 2 == 0) ? cv::Point(2, 1) : cv::Point(-2, -1);
    const MotionObservation o = detector->Process(scene.Frame(i, shift), TimeOf(i));
    EXPECT_EQ(o.event, MotionEventType::kNone) << "frame " << i;
    EXPECT_FALSE(o.active) << "frame " << i;
    EXPECT_FALSE(o.global_change) << "frame " << i;
    compensated += o.camera_shift != cv::Point2f();
  }
  EXPECT_GE(compensated, 45);  // every other frame is in the reference pose
}

TEST(MotionDetectorTest, SingleFrameFlashDoesNotStartMotion) {
  Scene scene;
  auto detector = MakeDetector();
  bool flash_seen = false;
  for (int i = 0; i < 40; ++i) {
    cv::Mat frame = scene.Frame(i);
    if (i == 20) cv::ellipse(frame, {160, 90}, {30, 20}, 0, 0, 360, 255, cv::FILLED);
    const MotionObservation o = detector->Process(frame, TimeOf(i));
    if (i == 20) flash_seen = !o.regions.empty();
    EXPECT_EQ(o.event, MotionEventType::kNone) << "frame " << i;
  }
  EXPECT_TRUE(flash_seen);  // seen, but not confirmed
}

TEST(MotionDetectorTest, WholeFrameFlashIsSuppressed) {
  Scene scene;
  auto detector = MakeDetector();
  for (int i = 0; i < 40; ++i) {
    const MotionObservation o = detector->Process(scene.Frame(i, {}, i == 20 ? 90 : 0), TimeOf(i));
    EXPECT_EQ(o.event, MotionEventType::kNone) << "frame " << i;
    EXPECT_TRUE(o.regions.empty()) << "frame " << i;
  }
}

TEST(MotionDetectorTest, StoppedVehicleStaysDetectedForSeconds) {
  Scene scene;
  auto detector = MakeDetector();
  int index = 0;
  for (; index < 5; ++index) (void)detector->Process(scene.Frame(index), TimeOf(index));
  cv::Rect vehicle;
  for (int x = -30; x <= 150; x += 4, ++index) {
    cv::Mat frame = scene.Frame(index);
    vehicle = DrawVehicle(frame, x, 100);
    (void)detector->Process(frame, TimeOf(index));
  }
  MotionObservation o;
  for (int i = 0; i < 100; ++i, ++index) {  // waits 10 s at a red light
    cv::Mat frame = scene.Frame(index);
    DrawVehicle(frame, vehicle.x, vehicle.y);
    o = detector->Process(frame, TimeOf(index));
    EXPECT_NE(o.event, MotionEventType::kEnded) << "frame " << index;
  }
  EXPECT_TRUE(o.active);
  ASSERT_FALSE(o.regions.empty());
  EXPECT_TRUE(Overlaps(o.regions.front(), vehicle, {kWidth, kHeight}));
}

TEST(MotionDetectorTest, VehiclePresentAtStartLeavesNoGhost) {
  Scene scene;
  auto detector = MakeDetector();
  const cv::Rect parked(100, 100, 30, 15);
  int index = 0;
  int ghost_frames = 0;
  MotionObservation o;
  for (int x = parked.x; x <= kWidth; ++index) {  // seeded with the vehicle, then it drives off
    cv::Mat frame = scene.Frame(index);
    DrawVehicle(frame, x, parked.y);
    o = detector->Process(frame, TimeOf(index));
    if (x > parked.x + 60) {
      for (const MotionRegion& r : o.regions) ghost_frames += Overlaps(r, parked, frame.size());
    }
    if (index >= 10) x += 4;
  }
  for (int i = 0; i < 30; ++i, ++index) o = detector->Process(scene.Frame(index), TimeOf(index));
  EXPECT_EQ(ghost_frames, 0);
  EXPECT_FALSE(o.active);
  EXPECT_TRUE(o.regions.empty());
  EXPECT_GE(detector->stats().ghosts_absorbed, 1u);
}

TEST(MotionDetectorTest, DarkSceneUsesNightProfileAndIgnoresDimGlare) {
  Scene scene(5, 40);
  auto detector = MakeDetector();
  for (int i = 0, x = -40; x <= kWidth; ++i, x += 4) {
    cv::Mat frame = scene.Frame(i);
    // Headlight glare on the road: a soft patch 30 levels brighter, moving with the car.
    cv::Mat patch = frame(cv::Rect(0, 60, kWidth, 40));
    cv::Mat glare = cv::Mat::zeros(patch.size(), CV_8UC1);
    cv::ellipse(glare, {x, 20}, {20, 12}, 0, 0, 360, 30, cv::FILLED);
    patch += glare;
    const MotionObservation o = detector->Process(frame, TimeOf(i));
    if (i > 0) {
      EXPECT_TRUE(o.night) << "frame " << i;
    }
    EXPECT_EQ(o.event, MotionEventType::kNone) << "frame " << i;
  }
  EXPECT_GT(detector->stats().night_frames, 0u);
}

// Fog: a flat scene and a vehicle only 20 levels off it. Auto-contrast lowers the threshold in
// proportion to the scene's contrast, so the vehicle is found; without it, it is not.
int StartsInFog(bool auto_contrast) {
  Scene scene(100, 130);
  MotionOptions options;
  options.auto_contrast = auto_contrast;
  auto detector = MakeDetector(options);
  int started = 0;
  for (int i = 0, x = -30; x <= kWidth; ++i, x += 4) {
    cv::Mat frame = scene.Frame(i);
    cv::Mat vehicle = frame(cv::Rect(x, 100, 30, 15) & cv::Rect(0, 0, kWidth, kHeight));
    if (!vehicle.empty()) vehicle += cv::Scalar(20);
    started += detector->Process(frame, TimeOf(i)).event == MotionEventType::kStarted;
  }
  return started;
}

TEST(MotionDetectorTest, AutoContrastFindsFaintVehicleInFog) {
  EXPECT_EQ(StartsInFog(/*auto_contrast=*/true), 1);
  EXPECT_EQ(StartsInFog(/*auto_contrast=*/false), 0);
}

TEST(MotionDetectorTest, ColourFramesAreAnalysed) {
  Scene scene;
  auto detector = MakeDetector();
  int started = 0;
  for (int i = 0, x = -30; x <= kWidth; ++i, x += 4) {
    cv::Mat gray = scene.Frame(i);
    DrawVehicle(gray, x, 60);
    cv::Mat bgr;
    cv::cvtColor(gray, bgr, cv::COLOR_GRAY2BGR);
    started += detector->Process(bgr, TimeOf(i)).event == MotionEventType::kStarted;
  }
  EXPECT_EQ(started, 1);
}

TEST(MotionDetectorTest, CreateRejectsBadOptionsNamingTheField) {
  auto expect_rejected = [](const MotionOptions& o, const std::string& field) {
    auto r = MotionDetector::Create(o);
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind(field + ":", 0), 0u) << r.status().message();
  };
  MotionOptions o;
  o.threshold = 300;
  expect_rejected(o, "threshold");
  o = {};
  o.threshold = 0;
  expect_rejected(o, "threshold");
  o = {};
  o.start_frames = 0;
  expect_rejected(o, "start_frames");
  o = {};
  o.masks.push_back({{0.f, 0.f}, {1.f, 1.f}});
  expect_rejected(o, "masks[0]");
  o = {};
  o.masks.push_back({{0.f, 0.f}, {1.f, 0.f}, {1.f, 1.f}});
  o.masks.push_back({{0.f, 0.f}, {1.5f, 0.f}, {1.f, 1.f}});
  expect_rejected(o, "masks[1][1]");
  o = {};
  o.global_change_fraction = 0;
  expect_rejected(o, "global_change_fraction");
  o = {};
  o.min_region_area = -0.1;
  expect_rejected(o, "min_region_area");
  EXPECT_TRUE(MotionDetector::Create(MotionOptions{}).ok());
}

TEST(MotionDetectorTest, FrameSizeChangeReinitialisesAndEndsOpenInterval) {
  Scene scene;
  Scene large(50, 200, {640, 360});
  Scene small(50, 200, {160, 90});
  auto detector = MakeDetector();
  int index = 0;
  MotionObservation o;
  for (int x = 0; x < 100; x += 4, ++index) {
    cv::Mat frame = scene.Frame(index);
    DrawVehicle(frame, x, 100);
    o = detector->Process(frame, TimeOf(index));
  }
  ASSERT_TRUE(o.active);
  o = detector->Process(large.Frame(index), TimeOf(index));
  ++index;
  EXPECT_EQ(o.event, MotionEventType::kEnded);
  EXPECT_EQ(o.motion_id, 1u);
  EXPECT_FALSE(o.active);
  for (int i = 0; i < 20; ++i, ++index) {
    o = detector->Process(large.Frame(index), TimeOf(index));
    EXPECT_EQ(o.event, MotionEventType::kNone);
    EXPECT_TRUE(o.regions.empty());
  }
  for (int i = 0; i < 20; ++i, ++index) {
    o = detector->Process(small.Frame(index), TimeOf(index));
    EXPECT_EQ(o.event, MotionEventType::kNone);
    EXPECT_TRUE(o.regions.empty());
  }
  EXPECT_EQ(detector->stats().reinitialisations, 3u);
}

TEST(MotionDetectorTest, ResetReseedsBackground) {
  Scene scene;
  auto detector = MakeDetector();
  for (int i = 0; i < 10; ++i) (void)detector->Process(scene.Frame(i), TimeOf(i));
  detector->Reset();
  // A different scene after Reset() (e.g. the camera was re-aimed) is the new background.
  Scene other(0, 255);
  for (int i = 10; i < 30; ++i) {
    const MotionObservation o = detector->Process(other.Frame(i), TimeOf(i));
    EXPECT_TRUE(o.regions.empty());
    EXPECT_FALSE(o.global_change);
  }
  EXPECT_EQ(detector->stats().reinitialisations, 2u);
}

TEST(MotionDetectorTest, ClockSteppedBackDoesNotHoldIntervalOpen) {
  Scene scene;
  auto detector = MakeDetector();
  int64_t t = TimeOf(0);
  int index = 0, ended = 0;
  for (int x = -30; x <= kWidth; x += 4, ++index, t += kFrameUs) {
    if (index == 40) t -= 3'600'000'000;  // wall clock stepped back an hour mid-interval
    cv::Mat frame = scene.Frame(index);
    DrawVehicle(frame, x, 100);
    ended += detector->Process(frame, t).event == MotionEventType::kEnded;
  }
  MotionObservation o;
  for (int i = 0; i < 25; ++i, ++index, t += kFrameUs) {
    o = detector->Process(scene.Frame(index), t);
    ended += o.event == MotionEventType::kEnded;
  }
  EXPECT_EQ(ended, 1);
  EXPECT_FALSE(o.active);
}

TEST(MotionDetectorTest, UnsupportedFrameIsCountedNotFatal) {
  auto detector = MakeDetector();
  const MotionObservation o = detector->Process(cv::Mat(kHeight, kWidth, CV_32FC1, 0.f), 0);
  EXPECT_EQ(o.event, MotionEventType::kNone);
  (void)detector->Process(cv::Mat(), 1);
  EXPECT_EQ(detector->stats().rejected_frames, 2u);
}

}  // namespace
}  // namespace skynet::analytics
