// DnnDetector with the real NanoDet on real footage (OpenCV's vtest.avi, frame 100: people
// walking in a square, vans parked behind). Runs where the models are present:
//  - ../shared/models/nanodet.onnx: the reference conversion kept beside the repo for CI;
//  - models/nanodet.onnx: our own conversion, after `make models` (checked against the former).
// Each test skips, saying what is missing, otherwise.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <opencv2/videoio.hpp>

#include "pipeline/analytics/dnn/dnn_detector.h"

namespace skynet::analytics {
namespace {

constexpr char kVideo[] = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";

// The repo: $SKYNET_SOURCE_DIR, else the one this test was built from.
std::string SourceDir() {
  const char* s = std::getenv("SKYNET_SOURCE_DIR");
  return s ? s : SKYNET_SOURCE_DIR_DEFAULT;
}

std::string FirstExisting(const std::vector<std::string>& paths) {
  for (const std::string& p : paths) {
    if (std::filesystem::is_regular_file(p)) return p;
  }
  return "";
}

std::string ReferenceModel() {
  return FirstExisting(
      {SourceDir() + "/../shared/models/nanodet.onnx", "/work/shared/models/nanodet.onnx"});
}

std::string PreparedModel() { return FirstExisting({SourceDir() + "/models/nanodet.onnx"}); }

cv::Mat Frame100() {
  cv::VideoCapture cap(kVideo);
  cv::Mat frame;
  for (int i = 0; i <= 100 && cap.read(frame); ++i) {
  }
  return frame;
}

float IoU(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  return inter / (a.area() + b.area() - inter);
}

std::unique_ptr<DnnDetector> Make(const std::string& path, int input_size, bool gated) {
  DnnDetectorOptions o;
  o.model_path = path;
  o.input_size = input_size;
  o.score_threshold = 0.3f;
  o.motion_gated = gated;
  o.detect_fps = 0;
  auto r = DnnDetector::Create(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

std::vector<Detection> OfClass(const std::vector<Detection>& d, ObjectClass c) {
  std::vector<Detection> out;
  for (const Detection& x : d) {
    if (x.object_class == c) out.push_back(x);
  }
  return out;
}

class NanoDetRealTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = ReferenceModel();
    if (model_.empty()) GTEST_SKIP() << "no ../shared/models/nanodet.onnx: real-model test skipped";
    frame_ = Frame100();
    if (frame_.empty()) GTEST_SKIP() << kVideo << " not readable (package opencv-doc)";
  }
  std::string model_;
  cv::Mat frame_;
};

TEST_F(NanoDetRealTest, FindsThePeopleInVtestFrame100) {
  auto det = Make(model_, 416, /*gated=*/false);
  ASSERT_TRUE(det);
  const std::vector<Detection> d = det->Detect(frame_, {}, 0);
  const std::vector<Detection> people = OfClass(d, ObjectClass::kPerson);
  EXPECT_GE(people.size(), 4u);
  for (const Detection& p : people) {
    EXPECT_GE(p.score, 0.3f);
    EXPECT_TRUE((p.box & cv::Rect2f(0, 0, frame_.cols, frame_.rows)) == p.box);
    EXPECT_GT(p.box.height, p.box.width);  // upright people
  }
}

TEST_F(NanoDetRealTest, MotionGatedCropsFindTheSamePeople) {
  auto full = Make(model_, 416, false);
  ASSERT_TRUE(full);
  const std::vector<Detection> people = OfClass(full->Detect(frame_, {}, 0), ObjectClass::kPerson);
  ASSERT_GE(people.size(), 2u);
  // Motion regions: the two best people, normalised, as a motion detector would report them.
  std::vector<cv::Rect2f> regions;
  for (int i = 0; i < 2; ++i) {
    const cv::Rect2f& b = people[i].box;
    regions.emplace_back(b.x / frame_.cols, b.y / frame_.rows, b.width / frame_.cols,
                         b.height / frame_.rows);
  }
  auto gated = Make(model_, 416, true);
  ASSERT_TRUE(gated);
  const std::vector<Detection> found =
      OfClass(gated->Detect(frame_, regions, 0), ObjectClass::kPerson);
  for (int i = 0; i < 2; ++i) {
    float best = 0.f;
    for (const Detection& f : found) best = std::max(best, IoU(f.box, people[i].box));
    EXPECT_GE(best, 0.5f) << "person " << i << " not found again in its crop";
  }
  EXPECT_GE(gated->stats().crops, 1);
  EXPECT_LE(gated->stats().crops, 2);
}

TEST_F(NanoDetRealTest, RunsAt320) {
  auto det = Make(model_, 320, false);
  ASSERT_TRUE(det);
  EXPECT_GE(OfClass(det->Detect(frame_, {}, 0), ObjectClass::kPerson).size(), 2u);
}

// Our converter's output (make models) against the reference conversion: same outputs on a
// random input (compare_onnx.py), the same detections through DnnDetector, and it takes batches.
TEST_F(NanoDetRealTest, PreparedModelMatchesReference) {
  const std::string ours = PreparedModel();
  if (ours.empty()) GTEST_SKIP() << "models/nanodet.onnx not prepared (make models): skipped";
  const std::string cmd = "/usr/bin/python3 " + SourceDir() + "/tools/models/compare_onnx.py " +
                          ours + " " + model_ + " --tolerance 1e-4";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto a = Make(ours, 416, false);
  auto b = Make(model_, 416, false);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->batched());  // our converter writes batch-agnostic reshapes
  const std::vector<Detection> da = a->Detect(frame_, {}, 0), db = b->Detect(frame_, {}, 0);
  ASSERT_EQ(da.size(), db.size());
  for (size_t i = 0; i < da.size(); ++i) {
    EXPECT_EQ(da[i].object_class, db[i].object_class);
    EXPECT_NEAR(da[i].score, db[i].score, 1e-4);
    EXPECT_NEAR(da[i].box.x, db[i].box.x, 0.05);
    EXPECT_NEAR(da[i].box.y, db[i].box.y, 0.05);
  }
}

}  // namespace
}  // namespace skynet::analytics
