// DnnDetector end to end on tiny ONNX models whose outputs are known exactly: each is built by
// /usr/bin/python3 + onnx at test time (GlobalAveragePool -> 1x1 Conv with zero weights and the
// wanted values as bias -> Reshape), so whatever the input, the output tensor is the constant.
#include "pipeline/analytics/dnn/dnn_detector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "tests/testing/temp_dir.h"

namespace skynet::analytics {
namespace {

constexpr char kPython[] = "/usr/bin/python3";

// const_model(path, [(name, rows)], input_size, fixed_batch): an ONNX model with outputs
// [batch, N, C] equal to `rows` (N x C) for any input. fixed_batch writes Reshape [1, N, C], as
// graphs exported for batch 1 do.
constexpr char kMakeModel[] = R"PY(
import json, sys
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

def const_model(path, outputs, input_size, fixed_batch=False):
    nodes = [helper.make_node("GlobalAveragePool", ["images"], ["pooled"])]
    inits, outs = [], []
    for name, rows in outputs:
        arr = np.asarray(rows, np.float32)
        n, c = arr.shape
        inits += [numpy_helper.from_array(np.zeros((n * c, 3, 1, 1), np.float32), name + "_w"),
                  numpy_helper.from_array(arr.reshape(-1), name + "_b"),
                  numpy_helper.from_array(
                      np.array([1 if fixed_batch else 0, n, c], np.int64), name + "_shape")]
        nodes += [helper.make_node("Conv", ["pooled", name + "_w", name + "_b"], [name + "_conv"],
                                   kernel_shape=[1, 1]),
                  helper.make_node("Reshape", [name + "_conv", name + "_shape"], [name])]
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", n, c]))
    graph = helper.make_graph(nodes, "const", [helper.make_tensor_value_info(
        "images", TensorProto.FLOAT, ["batch", 3, input_size, input_size])], outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, path)

spec = json.load(open(sys.argv[1]))
const_model(spec["path"], [(o["name"], o["rows"]) for o in spec["outputs"]],
            spec["input_size"], spec.get("fixed_batch", False))
)PY";

bool HavePythonOnnx() {
  static const bool ok =
      std::system((std::string(kPython) + " -c 'import onnx, numpy' 2>/dev/null").c_str()) == 0;
  return ok;
}

using Rows = std::vector<std::vector<float>>;

std::string RowsJson(const Rows& rows) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    s << (i ? "," : "") << "[";
    for (size_t j = 0; j < rows[i].size(); ++j) s << (j ? "," : "") << rows[i][j];
    s << "]";
  }
  s << "]";
  return s.str();
}

// Writes the model into `dir` and returns its path ("" on failure).
std::string MakeModel(const testing::TempDir& dir, const std::string& file,
                      const std::vector<std::pair<std::string, Rows>>& outputs, int input_size,
                      bool fixed_batch = false) {
  const std::string script = dir.File("make_model.py");
  std::ofstream(script) << kMakeModel;
  std::ostringstream spec;
  spec << "{\"path\":\"" << dir.File(file) << "\",\"input_size\":" << input_size
       << ",\"fixed_batch\":" << (fixed_batch ? "true" : "false") << ",\"outputs\":[";
  for (size_t i = 0; i < outputs.size(); ++i) {
    spec << (i ? "," : "") << "{\"name\":\"" << outputs[i].first
         << "\",\"rows\":" << RowsJson(outputs[i].second) << "}";
  }
  spec << "]}";
  const std::string spec_path = dir.File(file + ".json");
  std::ofstream(spec_path) << spec.str();
  const std::string cmd = std::string(kPython) + " " + script + " " + spec_path;
  return std::system(cmd.c_str()) == 0 ? dir.File(file) : "";
}

// A YOLOv5 row: cx, cy, w, h, obj, then 8 class scores with `cls` at `score`.
std::vector<float> V5Row(float cx, float cy, float w, float h, float obj, int cls, float score) {
  std::vector<float> r = {cx, cy, w, h, obj, 0, 0, 0, 0, 0, 0, 0, 0};
  r[5 + cls] = score;
  return r;
}

// Three YOLOv5 candidates on a 64x64 input: a car (class 2), an overlapping weaker car that NMS
// drops, and a truck (class 7); plus a class-4 (airplane) box the COCO map drops.
Rows YoloV5Rows() {
  return {V5Row(20, 20, 16, 8, 0.9f, 2, 1.0f), V5Row(21, 20, 16, 8, 0.8f, 2, 1.0f),
          V5Row(48, 40, 20, 30, 1.0f, 7, 0.6f), V5Row(10, 50, 8, 8, 1.0f, 4, 0.9f)};
}

class DnnDetectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HavePythonOnnx()) GTEST_SKIP() << kPython << " with onnx and numpy not available";
  }

  DnnDetectorOptions Options(const std::string& path, DnnFormat format) {
    DnnDetectorOptions o;
    o.model_path = path;
    o.format = format;
    o.input_size = 64;
    o.score_threshold = 0.3f;
    o.detect_fps = 0;
    return o;
  }

  std::unique_ptr<DnnDetector> MustCreate(const DnnDetectorOptions& o) {
    auto r = DnnDetector::Create(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  testing::TempDir dir_;
  const std::vector<cv::Rect2f> kWholeFrame = {cv::Rect2f(0, 0, 1, 1)};
};

void ExpectBox(const Detection& d, float x1, float y1, float x2, float y2) {
  EXPECT_NEAR(d.box.x, x1, 1e-3);
  EXPECT_NEAR(d.box.y, y1, 1e-3);
  EXPECT_NEAR(d.box.x + d.box.width, x2, 1e-3);
  EXPECT_NEAR(d.box.y + d.box.height, y2, 1e-3);
}

TEST_F(DnnDetectorTest, YoloV5BoxesMappedToFramePixelsAfterNms) {
  const std::string path = MakeModel(dir_, "v5.onnx", {{"output", YoloV5Rows()}}, 64);
  ASSERT_FALSE(path.empty());
  DnnDetectorOptions o = Options(path, DnnFormat::kYoloV5);
  o.motion_gated = false;
  auto det = MustCreate(o);
  ASSERT_TRUE(det);
  EXPECT_TRUE(det->batched());
  EXPECT_EQ(det->name(), "yolov5");
  // A 256x128 frame letterboxed into 64x64: scale 1/4, so boxes come back x4.
  const cv::Mat frame(128, 256, CV_8UC3, cv::Scalar(80, 90, 100));
  const std::vector<Detection> d = det->Detect(frame, {}, 0);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].object_class, ObjectClass::kCar);
  EXPECT_NEAR(d[0].score, 0.9f, 1e-6);
  ExpectBox(d[0], 48, 64, 112, 96);
  EXPECT_EQ(d[1].object_class, ObjectClass::kTruck);
  EXPECT_NEAR(d[1].score, 0.6f, 1e-6);
  // The truck's box (38..58 x 25..55 in the input) is cut at the crop's bottom edge (128 px).
  ExpectBox(d[1], 152, 100, 232, 128);
  EXPECT_EQ(det->stats().inferences, 1);
}

TEST_F(DnnDetectorTest, ClassAgnosticNmsDropsOverlapOfOtherClass) {
  Rows rows = {V5Row(20, 20, 16, 16, 1.0f, 2, 0.9f), V5Row(20, 21, 16, 16, 1.0f, 7, 0.8f)};
  const std::string path = MakeModel(dir_, "v5.onnx", {{"output", rows}}, 64);
  ASSERT_FALSE(path.empty());
  DnnDetectorOptions o = Options(path, DnnFormat::kYoloV5);
  o.motion_gated = false;
  const cv::Mat frame(64, 64, CV_8UC3, cv::Scalar::all(0));
  EXPECT_EQ(MustCreate(o)->Detect(frame, {}, 0).size(), 2u);
  o.class_aware_nms = false;
  const std::vector<Detection> d = MustCreate(o)->Detect(frame, {}, 0);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].object_class, ObjectClass::kCar);
}

TEST_F(DnnDetectorTest, YoloV8ChannelsFirst) {
  // [84-style, N]: 4 + 8 classes, 2 anchors: a bus (5) and a person (0).
  Rows ch(12, std::vector<float>(2, 0.f));
  const float box[2][4] = {{32, 32, 40, 20}, {10, 12, 4, 10}};
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 4; ++k) ch[k][i] = box[i][k];
  }
  ch[4 + 5][0] = 0.8f;
  ch[4 + 0][1] = 0.5f;
  const std::string path = MakeModel(dir_, "v8.onnx", {{"output0", ch}}, 64);
  ASSERT_FALSE(path.empty());
  auto det = MustCreate(Options(path, DnnFormat::kYoloV8));
  ASSERT_TRUE(det);
  const cv::Mat frame(64, 64, CV_8UC1, cv::Scalar(0));  // grey frames are accepted
  const std::vector<Detection> d = det->Detect(frame, kWholeFrame, 0);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].object_class, ObjectClass::kBus);
  ExpectBox(d[0], 12, 22, 52, 42);
  EXPECT_EQ(d[1].object_class, ObjectClass::kPerson);
  ExpectBox(d[1], 8, 7, 12, 17);
}

// NanoDet levels for a 64x64 input: strides 8, 16, 32 -> 64, 16, 4 anchors; 80 classes, reg_max
// 10. One car on the stride-16 grid at cell (1, 2): centre (24, 40); distances 1, 2, 2, 0.5 bins.
std::vector<std::pair<std::string, Rows>> NanoDetOutputs() {
  std::vector<std::pair<std::string, Rows>> outs;
  const int strides[3] = {8, 16, 32};
  for (int level = 0; level < 3; ++level) {
    const int g = 64 / strides[level];
    Rows cls(g * g, std::vector<float>(80, 0.01f));
    Rows reg(g * g, std::vector<float>(44, 0.f));
    if (strides[level] == 16) {
      const int i = 2 * g + 1;
      cls[i][2] = 0.75f;
      const float peak[4] = {1, 2, 2, -1};  // -1: bins 0 and 1 equally
      for (int side = 0; side < 4; ++side) {
        for (int b = 0; b < 11; ++b) {
          reg[i][side * 11 + b] = (peak[side] >= 0) ? (b == peak[side] ? 60.f : 0.f)
                                                    : ((b == 0 || b == 1) ? 60.f : 0.f);
        }
      }
    }
    // Output order as in the converted NanoDet: classes and boxes interleaved by level.
    outs.push_back({"cls" + std::to_string(level), cls});
    outs.push_back({"reg" + std::to_string(level), reg});
  }
  return outs;
}

TEST_F(DnnDetectorTest, NanoDetGflHeadAcrossLevels) {
  const std::string path = MakeModel(dir_, "nanodet.onnx", NanoDetOutputs(), 64);
  ASSERT_FALSE(path.empty());
  auto det = MustCreate(Options(path, DnnFormat::kNanoDet));
  ASSERT_TRUE(det);
  const cv::Mat frame(64, 64, CV_8UC3, cv::Scalar::all(128));
  const std::vector<Detection> d = det->Detect(frame, kWholeFrame, 0);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].object_class, ObjectClass::kCar);
  EXPECT_NEAR(d[0].score, 0.75f, 1e-6);
  ExpectBox(d[0], 24 - 16, 40 - 32, 24 + 32, 40 + 8);
}

TEST_F(DnnDetectorTest, NanoDetPlusSingleOutputWithStride64) {
  // One [N, 80 + 32] output (reg_max 7), levels 8, 16, 32, 64 stacked: 64 + 16 + 4 + 1 rows.
  Rows rows(85, std::vector<float>(112, 0.f));
  for (auto& r : rows) std::fill(r.begin(), r.begin() + 80, 0.01f);
  // Stride 32 (rows 80..83, a 2x2 grid), cell (1, 0): centre (48, 16); l=1, t=0, r=0, b=1 bins.
  std::vector<float>& car = rows[80 + 1];
  car[2] = 0.8f;
  const int peak[4] = {1, 0, 0, 1};
  for (int side = 0; side < 4; ++side) car[80 + side * 8 + peak[side]] = 60.f;
  // Stride 64 (row 84), centre (32, 32), uniform logits: 3.5 bins x 64 each way -> the frame.
  rows[84][0] = 0.5f;
  const std::string path = MakeModel(dir_, "nanodet_plus.onnx", {{"output", rows}}, 64);
  ASSERT_FALSE(path.empty());
  auto det = MustCreate(Options(path, DnnFormat::kNanoDet));
  ASSERT_TRUE(det);
  const cv::Mat frame(64, 64, CV_8UC3, cv::Scalar::all(128));
  const std::vector<Detection> d = det->Detect(frame, kWholeFrame, 0);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].object_class, ObjectClass::kCar);
  ExpectBox(d[0], 48 - 32, 16, 48, 16 + 32);
  EXPECT_EQ(d[1].object_class, ObjectClass::kPerson);
  ExpectBox(d[1], 0, 0, 64, 64);
}

TEST_F(DnnDetectorTest, NoMotionNoInference) {
  const std::string path = MakeModel(dir_, "v5.onnx", {{"output", YoloV5Rows()}}, 64);
  ASSERT_FALSE(path.empty());
  auto det = MustCreate(Options(path, DnnFormat::kYoloV5));
  ASSERT_TRUE(det);
  const cv::Mat frame(240, 320, CV_8UC3, cv::Scalar::all(0));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(det->Detect(frame, {}, i * 100'000).empty());
  EXPECT_EQ(det->stats().calls, 5);
  EXPECT_EQ(det->stats().no_motion, 5);
  EXPECT_EQ(det->stats().inferences, 0);
  EXPECT_TRUE(det->last_call_ran());
}

TEST_F(DnnDetectorTest, DetectFpsLimitsRunsInStreamTime) {
  const std::string path = MakeModel(dir_, "v5.onnx", {{"output", YoloV5Rows()}}, 64);
  ASSERT_FALSE(path.empty());
  DnnDetectorOptions o = Options(path, DnnFormat::kYoloV5);
  o.detect_fps = 5;
  auto det = MustCreate(o);
  ASSERT_TRUE(det);
  const cv::Mat frame(64, 64, CV_8UC3, cv::Scalar::all(0));
  int ran = 0;
  for (int i = 0; i < 25; ++i) {  // one second at 25 fps
    const bool any = !det->Detect(frame, kWholeFrame, 40'000LL * i).empty();
    EXPECT_EQ(any, det->last_call_ran()) << i;
    ran += det->last_call_ran();
  }
  EXPECT_EQ(ran, 5);
  EXPECT_EQ(det->stats().rate_skipped, 20);
  EXPECT_EQ(det->stats().inferences, 5);
}

TEST_F(DnnDetectorTest, SeparateRegionsRunAsOneBatchAndMapToTheirCrops) {
  // One candidate at the input's centre (32, 32), 16x16: in each crop it maps to the crop's
  // centre, so two far-apart crops give two boxes from one forward pass.
  const Rows rows = {V5Row(32, 32, 16, 16, 1.0f, 2, 0.9f)};
  const std::string path = MakeModel(dir_, "v5.onnx", {{"output", rows}}, 64);
  ASSERT_FALSE(path.empty());
  DnnDetectorOptions o = Options(path, DnnFormat::kYoloV5);
  o.min_crop_size = 64;
  o.crop_padding = 0.f;
  auto det = MustCreate(o);
  ASSERT_TRUE(det);
  const cv::Mat frame(480, 640, CV_8UC3, cv::Scalar::all(0));
  // 64x64 px regions at (32, 32) and (512, 384).
  const std::vector<cv::Rect2f> regions = {cv::Rect2f(0.05f, 32 / 480.f, 0.1f, 64 / 480.f),
                                           cv::Rect2f(0.8f, 0.8f, 0.1f, 64 / 480.f)};
  const std::vector<cv::Rect> crops = det->PlanCrops(frame.size(), regions);
  ASSERT_EQ(crops.size(), 2u);
  EXPECT_EQ(crops[0], cv::Rect(32, 32, 64, 64));
  EXPECT_EQ(crops[1], cv::Rect(512, 384, 64, 64));
  std::vector<Detection> d = det->Detect(frame, regions, 0);
  ASSERT_EQ(d.size(), 2u);
  std::sort(d.begin(), d.end(), [](auto& a, auto& b) { return a.box.x < b.box.x; });
  ExpectBox(d[0], 56, 56, 72, 72);
  ExpectBox(d[1], 536, 408, 552, 424);
  EXPECT_EQ(det->stats().inferences, 1);
  EXPECT_EQ(det->stats().crops, 2);
}

TEST_F(DnnDetectorTest, BatchCropsOffRunsOneForwardPerCrop) {
  const Rows rows = {V5Row(32, 32, 16, 16, 1.0f, 2, 0.9f)};
  const std::string path = MakeModel(dir_, "v5.onnx", {{"output", rows}}, 64);
  ASSERT_FALSE(path.empty());
  DnnDetectorOptions o = Options(path, DnnFormat::kYoloV5);
  o.min_crop_size = 64;
  o.crop_padding = 0.f;
  o.batch_crops = false;
  auto det = MustCreate(o);
  ASSERT_TRUE(det);
  EXPECT_FALSE(det->batched());
  const cv::Mat frame(480, 640, CV_8UC3, cv::Scalar::all(0));
  const std::vector<cv::Rect2f> regions = {cv::Rect2f(0.05f, 0.1f, 0.1f, 0.1f),
                                           cv::Rect2f(0.8f, 0.8f, 0.1f, 0.1f)};
  EXPECT_EQ(det->Detect(frame, regions, 0).size(), 2u);
  EXPECT_EQ(det->stats().inferences, 2);
  EXPECT_EQ(det->stats().crops, 2);
}

TEST_F(DnnDetectorTest, BatchOneGraphRunsCropsOneByOne) {
  const Rows rows = {V5Row(32, 32, 16, 16, 1.0f, 2, 0.9f)};
  const std::string path = MakeModel(dir_, "v5b1.onnx", {{"output", rows}}, 64, true);
  ASSERT_FALSE(path.empty());
  DnnDetectorOptions o = Options(path, DnnFormat::kYoloV5);
  o.min_crop_size = 64;
  o.crop_padding = 0.f;
  auto det = MustCreate(o);
  ASSERT_TRUE(det);
  EXPECT_FALSE(det->batched());
  const cv::Mat frame(480, 640, CV_8UC3, cv::Scalar::all(0));
  const std::vector<cv::Rect2f> regions = {cv::Rect2f(0.05f, 0.1f, 0.1f, 0.1f),
                                           cv::Rect2f(0.8f, 0.8f, 0.1f, 0.1f)};
  EXPECT_EQ(det->Detect(frame, regions, 0).size(), 2u);
  EXPECT_EQ(det->stats().inferences, 2);
}

TEST(DnnCropPlanTest, OverlappingRegionsMergeAndLargeCoverageRunsWholeFrame) {
  // PlanCrops needs a detector; a tiny model keeps it honest.
  if (!HavePythonOnnx()) GTEST_SKIP() << kPython << " with onnx and numpy not available";
  testing::TempDir dir;
  const std::string path = MakeModel(dir, "v5.onnx", {{"output", YoloV5Rows()}}, 64);
  ASSERT_FALSE(path.empty());
  DnnDetectorOptions o;
  o.model_path = path;
  o.format = DnnFormat::kYoloV5;
  o.input_size = 64;
  o.max_crops = 2;
  auto det = DnnDetector::Create(o);
  ASSERT_TRUE(det.ok()) << det.status().ToString();
  const cv::Size size(1920, 1080);
  // Two overlapping regions -> one crop covering both.
  auto crops = (*det)->PlanCrops(size, {{0.1f, 0.1f, 0.05f, 0.05f}, {0.12f, 0.12f, 0.05f, 0.05f}});
  ASSERT_EQ(crops.size(), 1u);
  EXPECT_TRUE((crops[0] & cv::Rect(192, 108, 96, 54)) == cv::Rect(192, 108, 96, 54));
  // Three far-apart regions with max_crops 2 -> two crops; every region inside one of them.
  const std::vector<cv::Rect2f> three = {
      {0.05f, 0.05f, 0.02f, 0.02f}, {0.15f, 0.05f, 0.02f, 0.02f}, {0.9f, 0.9f, 0.02f, 0.02f}};
  crops = (*det)->PlanCrops(size, three);
  ASSERT_EQ(crops.size(), 2u);
  for (const cv::Rect2f& n : three) {
    const cv::Rect px(cvRound(n.x * 1920), cvRound(n.y * 1080), cvRound(n.width * 1920),
                      cvRound(n.height * 1080));
    EXPECT_TRUE((crops[0] & px) == px || (crops[1] & px) == px);
  }
  // Regions outside the frame, empty or not finite -> no crop.
  EXPECT_TRUE(
      (*det)
          ->PlanCrops(size,
                      {{1.5f, 0.2f, 0.1f, 0.1f}, {0.2f, 0.2f, 0.f, 0.1f}, {NAN, 0.2f, 0.1f, 0.1f}})
          .empty());
  // A region covering most of the frame -> the whole frame.
  crops = (*det)->PlanCrops(size, {{0.1f, 0.1f, 0.7f, 0.7f}});
  ASSERT_EQ(crops.size(), 1u);
  EXPECT_EQ(crops[0], cv::Rect(0, 0, 1920, 1080));
}

TEST(DnnOptionsTest, ConfigSpellingsParse) {
  DnnFormat f = DnnFormat::kNanoDet;
  EXPECT_TRUE(ParseDnnFormat("yolov8", &f));
  EXPECT_EQ(f, DnnFormat::kYoloV8);
  EXPECT_STREQ(DnnFormatName(f), "yolov8");
  EXPECT_FALSE(ParseDnnFormat("yolov7", &f));
  DnnPreprocess p = DnnPreprocess::kDefault;
  EXPECT_TRUE(ParseDnnPreprocess("rgb255", &p));
  EXPECT_EQ(p, DnnPreprocess::kRgbUnit);
  EXPECT_FALSE(ParseDnnPreprocess("bgr", &p));
  EXPECT_EQ(CocoClassMap().at(7), ObjectClass::kTruck);
  EXPECT_EQ(CocoClassMap().count(4), 0u);  // airplane: dropped
}

TEST(DnnDetectorCreateTest, ErrorsNameTheFileAndTheReason) {
  DnnDetectorOptions o;
  o.model_path = "/nonexistent/model.onnx";
  auto r = DnnDetector::Create(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/model.onnx"), std::string::npos);

  testing::TempDir dir;
  std::ofstream(dir.File("junk.onnx")) << "not a model";
  o.model_path = dir.File("junk.onnx");
  r = DnnDetector::Create(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("junk.onnx: opencv dnn cannot load"), std::string::npos)
      << r.status().message();

  o.input_size = 300;
  r = DnnDetector::Create(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("input_size"), std::string::npos);

  o.input_size = 320;
  o.min_crop_size = 0;
  r = DnnDetector::Create(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("min_crop_size"), std::string::npos);
}

TEST_F(DnnDetectorTest, WrongFormatIsRejectedAtCreate) {
  const std::string path = MakeModel(dir_, "v5.onnx", {{"output", YoloV5Rows()}}, 64);
  ASSERT_FALSE(path.empty());
  auto r = DnnDetector::Create(Options(path, DnnFormat::kNanoDet));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a nanodet model"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace skynet::analytics
