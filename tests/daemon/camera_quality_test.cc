#include "daemon/camera_quality.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgproc.hpp>

#include "tests/testing/temp_dir.h"

namespace skynet::daemon {
namespace {

using skynet::testing::TempDir;

// A textured view with fresh sensor noise in every frame (so it is not frozen).
class Scene {
 public:
  Scene() : base_(180, 320, CV_8UC3) {
    cv::randu(base_, 0, 255);
    cv::GaussianBlur(base_, base_, cv::Size(), 3);
    cv::normalize(base_, base_, 20, 235, cv::NORM_MINMAX);
  }
  cv::Mat Next() {
    cv::Mat noise(base_.size(), CV_16SC3);
    rng_.fill(noise, cv::RNG::NORMAL, 0, 3);
    cv::Mat frame;
    base_.convertTo(frame, CV_16SC3);
    frame += noise;
    frame.convertTo(frame, CV_8UC3);
    return frame;
  }

 private:
  cv::Mat base_;
  cv::RNG rng_{7};
};

CameraQualityOptions Options(const std::string& file) {
  CameraQualityOptions o;
  o.camera_id = "cam1";
  o.sample_interval_ms = 1000;
  o.reference_file = file;
  o.monitor.warmup_samples = 2;
  o.monitor.frozen.enter_ms = 3000;
  o.monitor.frozen.leave_ms = 1000;
  return o;
}

class CameraQualityTest : public ::testing::Test {
 protected:
  // Feeds frames every 200 ms for `seconds`; returns the changes.
  std::vector<v1::VideoQuality> Run(CameraQuality& q, double seconds, const cv::Mat* still = nullptr) {
    std::vector<v1::VideoQuality> changes;
    for (int i = 0; i < seconds * 5; ++i) {
      clock_.AdvanceUs(200'000);
      q.Sample(still ? *still : scene_.Next(), clock_.NowWallUs(), &changes);
    }
    return changes;
  }

  TempDir dir_;
  FakeClock clock_;
  Scene scene_;
};

TEST_F(CameraQualityTest, SamplesOncePerIntervalAndPublishesEveryStateChange) {
  const std::string file = dir_.File("quality/cam1.yml.gz");
  auto q = CameraQuality::Create(Options(file), &clock_);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  std::vector<v1::VideoQuality> changes = Run(**q, 10);
  v1::CameraQualityInfo info;
  (*q)->FillInfo(&info);
  EXPECT_EQ(info.samples(), 10u);  // 50 frames, one sample a second
  EXPECT_EQ(info.reference(), "learned");
  EXPECT_EQ(info.worst(), v1::QUALITY_STATE_OK);
  ASSERT_EQ(info.checks_size(), analytics::kQualityCheckCount);
  // Every check went from learning to ok, once.
  EXPECT_EQ(changes.size(), static_cast<size_t>(analytics::kQualityCheckCount));
  for (const v1::VideoQuality& c : changes) {
    EXPECT_EQ(c.from(), v1::QUALITY_STATE_LEARNING) << c.check();
    EXPECT_EQ(c.to(), v1::QUALITY_STATE_OK) << c.check();
  }
  EXPECT_TRUE(std::filesystem::exists(file));  // written once learned

  const cv::Mat still = scene_.Next();
  changes = Run(**q, 6, &still);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].check(), "frozen");
  EXPECT_EQ(changes[0].to(), v1::QUALITY_STATE_FAULT);
  EXPECT_EQ(changes[0].worst(), v1::QUALITY_STATE_FAULT);
  ASSERT_EQ(changes[0].faults_size(), 1);
  EXPECT_EQ((*q)->worst(), v1::QUALITY_STATE_FAULT);
  EXPECT_EQ((*q)->faults(), std::vector<std::string>{"frozen"});
  EXPECT_EQ((*q)->checks()[int(analytics::QualityCheck::kFrozen)].state,
            analytics::QualityState::kFault);

  changes = Run(**q, 4);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].check(), "frozen");
  EXPECT_EQ(changes[0].to(), v1::QUALITY_STATE_OK);
  EXPECT_EQ(changes[0].worst(), v1::QUALITY_STATE_OK);
}

TEST_F(CameraQualityTest, AcceptedViewIsWrittenAndLoadedAtTheNextStart) {
  const std::string file = dir_.File("cam1.yml.gz");
  {
    auto q = CameraQuality::Create(Options(file), &clock_);
    ASSERT_TRUE(q.ok());
    EXPECT_EQ((*q)->AcceptView().code(), StatusCode::kUnavailable);  // nothing sampled yet
    Run(**q, 1);
    ASSERT_TRUE((*q)->AcceptView().ok());
    v1::CameraQualityInfo info;
    (*q)->FillInfo(&info);
    EXPECT_EQ(info.reference(), "accepted");
  }
  ASSERT_TRUE(std::filesystem::exists(file));
  auto again = CameraQuality::Create(Options(file), &clock_);
  ASSERT_TRUE(again.ok());
  v1::CameraQualityInfo info;
  (*again)->FillInfo(&info);
  EXPECT_EQ(info.reference(), "loaded");
  EXPECT_NE(info.reference_time_us(), 0);
  // Loaded: the reference checks are judged from the first samples on, no warm-up.
  Run(**again, 2);
  (*again)->FillInfo(&info);
  EXPECT_EQ(info.worst(), v1::QUALITY_STATE_OK);
}

TEST_F(CameraQualityTest, DamagedReferenceFileIsLearnedAgainNotFatal) {
  const std::string file = dir_.File("cam1.yml.gz");
  std::ofstream(file) << "this is not a reference view\n";
  auto q = CameraQuality::Create(Options(file), &clock_);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  v1::CameraQualityInfo info;
  (*q)->FillInfo(&info);
  EXPECT_EQ(info.reference(), "learning");
  Run(**q, 4);
  (*q)->FillInfo(&info);
  EXPECT_EQ(info.reference(), "learned");
  // Rewritten with a good one.
  auto again = CameraQuality::Create(Options(file), &clock_);
  ASSERT_TRUE(again.ok());
  (*again)->FillInfo(&info);
  EXPECT_EQ(info.reference(), "loaded");
}

}  // namespace
}  // namespace skynet::daemon
