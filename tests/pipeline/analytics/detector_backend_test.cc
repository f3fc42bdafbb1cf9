#include "pipeline/analytics/detector_backend.h"

#include <gtest/gtest.h>

#include "pipeline/analytics/dnn/dnn_options.h"

namespace skynet::analytics {
namespace {

TEST(DetectorBackendTest, ParsesWhatItNames) {
  for (DetectorBackend b : {DetectorBackend::kClassical, DetectorBackend::kDnn}) {
    const Result<DetectorBackend> parsed = ParseDetectorBackend(DetectorBackendName(b));
    ASSERT_TRUE(parsed.ok()) << DetectorBackendName(b);
    EXPECT_EQ(*parsed, b);
  }
  EXPECT_STREQ(DetectorBackendName(DetectorBackend::kClassical), "classical");
  EXPECT_STREQ(DetectorBackendName(DetectorBackend::kDnn), "dnn");
}

TEST(DetectorBackendTest, UnknownBackendNamesTheChoices) {
  const Result<DetectorBackend> parsed = ParseDetectorBackend("yolo");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message(), "must be classical or dnn, got 'yolo'");
}

TEST(DnnDetectorOptionsTest, ValidationNamesTheFirstBadField) {
  DnnDetectorOptions o;  // no model_path: that is Create()'s business
  EXPECT_TRUE(ValidateDnnDetectorOptions(o).ok());
  o.detect_fps = 300;
  EXPECT_EQ(ValidateDnnDetectorOptions(o).message(),
            "detect_fps: must be in [0, 240] (0: every frame), got 300");
  o.detect_fps = 5;
  o.nms_iou = 0;
  EXPECT_EQ(ValidateDnnDetectorOptions(o).message(), "nms_iou: must be in (0, 1]");
  o.nms_iou = 0.5f;
  o.input_size = 300;
  EXPECT_EQ(ValidateDnnDetectorOptions(o).message(),
            "input_size: 300 is not a multiple of 32 in [32, 2048]");
}

TEST(DnnDetectorOptionsTest, EqualityComparesEveryField) {
  DnnDetectorOptions a, b;
  EXPECT_EQ(a, b);
  b.class_map.erase(0);
  EXPECT_NE(a, b);
  b = a;
  b.batch_crops = false;
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace skynet::analytics
