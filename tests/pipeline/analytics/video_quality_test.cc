// VideoQualityMonitor on real footage: OpenCV's vtest.avi (people walking across a square, from
// package opencv-doc), sampled as a camera would be at one frame per second. Every fault is
// applied to the live sequence after the warm-up and must be raised by its own check within
// kDetectSamples samples; the normal sequences (moving people, brightness steps, an IR switch to
// greyscale, shake jitter) must raise nothing.
#include "pipeline/analytics/video_quality.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <set>
#include <string>
#include <vector>

namespace skynet::analytics {
namespace {

constexpr char kVideo[] = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
constexpr int64_t kSampleUs = 1'000'000;  // one sample per second
constexpr int kWarmup = 15;               // normal samples before a fault
constexpr int kDetectSamples = 25;        // a fault must be raised within this many samples

// The first 240 frames of vtest.avi, decoded once per process.
const std::vector<cv::Mat>& Footage() {
  static const std::vector<cv::Mat> frames = [] {
    std::vector<cv::Mat> out;
    cv::VideoCapture cap(kVideo);
    cv::Mat frame;
    while (out.size() < 240 && cap.read(frame)) out.push_back(frame.clone());
    return out;
  }();
  return frames;
}

// Sample i of the live camera: people keep walking (every 3rd frame, back and forth).
cv::Mat Live(int i) {
  const auto& f = Footage();
  const int n = int(f.size());
  int k = (i * 3) % (2 * n - 2);
  if (k >= n) k = 2 * n - 2 - k;
  return f[k].clone();  // a copy: faults draw on what they are given
}

using Fault = std::function<cv::Mat(const cv::Mat& live, int i)>;

// The view knocked by (dx, dy) pixels and `degrees`; what comes into view at the borders is the
// scene reflected, or, with `plain_wall`, a uniform grey surface.
cv::Mat Shifted(const cv::Mat& in, double dx, double dy, double degrees, bool plain_wall = false) {
  cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(in.cols / 2.f, in.rows / 2.f), degrees, 1.0);
  m.at<double>(0, 2) += dx;
  m.at<double>(1, 2) += dy;
  cv::Mat out;
  cv::warpAffine(in, out, m, in.size(), cv::INTER_LINEAR,
                 plain_wall ? cv::BORDER_CONSTANT : cv::BORDER_REFLECT, cv::Scalar::all(128));
  return out;
}

cv::Mat WithNoise(const cv::Mat& in, double sigma, int seed) {
  cv::Mat noise(in.size(), CV_16SC3);
  cv::RNG rng(seed);
  rng.fill(noise, cv::RNG::NORMAL, 0, sigma);
  cv::Mat out;
  cv::Mat wide;
  in.convertTo(wide, CV_16SC3);
  cv::add(wide, noise, wide);
  wide.convertTo(out, CV_8UC3);
  return out;
}

// A defocus whose strength may change from sample to sample: Gaussian sigma (pixels) of sample i.
Fault Defocus(std::function<double(int)> sigma_of_sample) {
  return [sigma_of_sample](const cv::Mat& live, int i) {
    cv::Mat out;
    cv::GaussianBlur(live, out, cv::Size(0, 0), sigma_of_sample(i));
    return out;
  };
}

struct RunResult {
  std::set<QualityCheck> raised;  // checks that went to fault after the warm-up
  int first_fault_sample = -1;    // samples after the fault began until `expected` was raised
  std::string log;                // scores, for failure messages
  std::array<float, kQualityCheckCount> peak{};  // highest evaluated score after the warm-up
  double process_ms = 0;                         // mean wall time of Process(), for the record
};

// Warm-up on the live sequence, then `samples` samples through `fault`.
RunResult RunCamera(const Fault& fault, int samples, QualityCheck expected,
                    VideoQualityMonitor* monitor = nullptr) {
  std::unique_ptr<VideoQualityMonitor> own;
  if (!monitor) {
    auto created = VideoQualityMonitor::Create({});
    EXPECT_TRUE(created.ok());
    own = std::move(created).value();
    monitor = own.get();
  }
  RunResult result;
  for (int i = 0; i < kWarmup + samples; ++i) {
    const cv::Mat live = Live(i);
    const cv::Mat frame = i < kWarmup ? live : fault(live, i - kWarmup);
    const auto start = std::chrono::steady_clock::now();
    const QualityObservation o = monitor->Process(frame, int64_t(i) * kSampleUs);
    result.process_ms +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count() /
        (kWarmup + samples);
    for (int c = 0; c < kQualityCheckCount && i >= kWarmup; ++c) {
      if (!o.checks[c].held) result.peak[c] = std::max(result.peak[c], o.checks[c].score);
    }
    if (i == kWarmup - 1) {
      EXPECT_TRUE(o.reference_ready) << "no reference after the warm-up";
    }
    for (const QualityChange& c : o.changes) {
      if (c.to != QualityState::kFault) continue;
      result.raised.insert(c.check);
      if (c.check == expected && result.first_fault_sample < 0 && i >= kWarmup) {
        result.first_fault_sample = i - kWarmup;
      }
    }
    if (i >= kWarmup - 2 && i < kWarmup + 12) {
      result.log += "sample " + std::to_string(i) + ":";
      for (int c = 0; c < kQualityCheckCount; ++c) {
        result.log += std::string(" ") + QualityCheckName(QualityCheck(c)) + "=" +
                      std::to_string(o.checks[c].score).substr(0, 4) +
                      (o.checks[c].held ? "h" : "");
      }
      result.log += "\n";
    }
  }
  return result;
}

// One line for the record (figures in docs/video-quality.md): when, and the peak scores.
void Print(const std::string& what, const RunResult& r) {
  std::string line = "[ figures ] " + what + ": peaks";
  for (int c = 0; c < kQualityCheckCount; ++c) {
    line += std::string(" ") + QualityCheckName(QualityCheck(c)) + "=" +
            std::to_string(r.peak[c]).substr(0, 4);
  }
  line += "; " + std::to_string(r.process_ms).substr(0, 4) + " ms/sample";
  std::printf("%s\n", line.c_str());
}

std::string Names(const std::set<QualityCheck>& checks) {
  std::string out;
  for (QualityCheck c : checks) out += std::string(QualityCheckName(c)) + " ";
  return out;
}

class VideoQualityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Footage().size() < 100) GTEST_SKIP() << kVideo << " not readable (package opencv-doc)";
  }

  // The fault is raised by `expected` within kDetectSamples, and by no check outside `allowed`.
  void ExpectDetected(const Fault& fault, QualityCheck expected,
                      std::set<QualityCheck> allowed = {}) {
    const RunResult r = RunCamera(fault, kDetectSamples + 5, expected);
    allowed.insert(expected);
    Print(std::string(QualityCheckName(expected)) + " raised after " +
              std::to_string(r.first_fault_sample + 1) + " samples",
          r);
    EXPECT_GE(r.first_fault_sample, 0) << QualityCheckName(expected) << " not raised\n" << r.log;
    EXPECT_LE(r.first_fault_sample, kDetectSamples) << r.log;
    for (QualityCheck c : r.raised) {
      EXPECT_TRUE(allowed.count(c)) << "also raised: " << QualityCheckName(c) << "\n" << r.log;
    }
  }

  void ExpectNothingRaised(const Fault& sequence, int samples = 80) {
    const RunResult r = RunCamera(sequence, samples, QualityCheck::kFrozen);
    Print("normal sequence", r);
    EXPECT_TRUE(r.raised.empty()) << "raised: " << Names(r.raised) << "\n" << r.log;
  }
};

TEST_F(VideoQualityTest, CoverOverPartOfTheViewIsOcclusion) {
  ExpectDetected(
      [](const cv::Mat& live, int) {
        cv::Mat out = live.clone();
        cv::rectangle(
            out,
            cv::Rect(live.cols / 10, live.rows / 5, live.cols * 35 / 100, live.rows * 45 / 100),
            cv::Scalar(70, 80, 90), cv::FILLED);
        return out;
      },
      QualityCheck::kOcclusion);
}

// A dark hand or bag over part of the lens: out of focus, nearly black. Its cells are black, which
// the exposure checks judge only when the whole picture is; they were skipped as exposure, so a
// dark cover went unseen (scenegen's covers at 3-4 % brightness over 40-60 % of the view), and the
// edges it took made the view look blurred.
cv::Mat DarkCover(const cv::Mat& live, int) {
  cv::Mat mask(live.size(), CV_32F, cv::Scalar(0));
  cv::ellipse(mask, cv::Point(0, live.rows * 6 / 10), cv::Size(live.cols * 55 / 100, live.rows), 0,
              0, 360, cv::Scalar(1), cv::FILLED);
  cv::GaussianBlur(mask, mask, cv::Size(0, 0), live.cols / 60.0);
  cv::Mat out;
  live.convertTo(out, CV_32FC3);
  cv::Mat mask3;
  cv::merge(std::vector<cv::Mat>{mask, mask, mask}, mask3);
  out = out.mul(cv::Scalar::all(1) - mask3) + mask3 * 8.0;
  out.convertTo(out, CV_8UC3);
  return out;
}

TEST_F(VideoQualityTest, ADarkCoverOverPartOfTheLensIsOcclusionNotBlur) {
  ExpectDetected(DarkCover, QualityCheck::kOcclusion);
}

// A cover over most of the view (a bag over the camera, two thirds of it) takes most cells'
// edges, so the median cell looked defocused and blur was raised with occlusion. Blur is judged on
// the cells that still show something.
TEST_F(VideoQualityTest, ACoverOverMostOfTheViewIsNotBlur) {
  ExpectDetected(
      [](const cv::Mat& live, int sample) {
        cv::Mat out = live.clone();
        cv::Mat cover = out(cv::Rect(0, 0, live.cols * 80 / 100, live.rows * 85 / 100));
        cover.setTo(cv::Scalar(60, 70, 80));
        return WithNoise(out, 1.5, sample);  // the sensor's noise over the cover
      },
      QualityCheck::kOcclusion);
}

// The view darkening as a whole (dusk, a lamp's light going, an exposure step) takes its darker
// parts down to black too: no cover, whichever other check the dark picture raises.
TEST_F(VideoQualityTest, TheWholeViewDarkeningIsNoCover) {
  const RunResult r = RunCamera(
      [](const cv::Mat& live, int) {
        cv::Mat out;
        live.convertTo(out, -1, 0.3, -10);
        return out;
      },
      kDetectSamples + 5, QualityCheck::kOcclusion);
  Print("whole view darkened", r);
  EXPECT_EQ(r.raised.count(QualityCheck::kOcclusion), 0u) << r.log;
}

TEST_F(VideoQualityTest, DefocusIsBlur) {
  ExpectDetected(Defocus([](int) { return 5.0; }), QualityCheck::kBlur);
}

TEST_F(VideoQualityTest, ADefocusUnderSharpRainIsBlur) {
  // Rain streaks in front of the lens stay sharp while the scene behind them is defocused: their
  // edges kept the frame's mean edge energy up (peak score 0.51 here, under the 0.55 that raises
  // blur; a defocus in rain was missed). Blur is judged on the median textured cell instead.
  ExpectDetected(
      [](const cv::Mat& live, int sample) {
        cv::Mat out;
        cv::GaussianBlur(live, out, cv::Size(0, 0), 3.0);
        cv::RNG rng(uint64_t(1000 + sample));
        for (int i = 0; i < 260; ++i) {
          const cv::Point a(rng.uniform(0, out.cols), rng.uniform(0, out.rows));
          cv::line(out, a, a + cv::Point(rng.uniform(-3, 4), rng.uniform(12, 30)),
                   cv::Scalar(235, 235, 235), 1);
        }
        return out;
      },
      QualityCheck::kBlur);
}

TEST_F(VideoQualityTest, ADefocusedViewGivesNoEvidenceOfACover) {
  // A blur spreads over the whole view, but fine texture loses more of its edges than the median
  // cell: those cells once counted as lost to a cover (score 0.31 here; scenegen's defoci at
  // night and in rain were diagnosed as occlusion). On a blurred view only cells that became
  // uniform count.
  const RunResult r =
      RunCamera(Defocus([](int) { return 2.0; }), kDetectSamples + 5, QualityCheck::kBlur);
  EXPECT_EQ(r.raised, std::set<QualityCheck>{QualityCheck::kBlur}) << r.log;
  EXPECT_LT(r.peak[int(QualityCheck::kOcclusion)], 0.1f) << r.log;
}

TEST_F(VideoQualityTest, ALongHoverJustUnderTheThresholdDoesNotSlowALaterDefocus) {
  // One sample past enter, then 300 samples at about 0.50 (between the middle of enter and leave
  // and enter), then a real defocus (sigma 5, about 0.9). The hover's window is dropped when its
  // mean falls short, so the defocus is raised within enter_ms and a few samples. A pending
  // change that kept every sample since the spike was not raised in the 25 samples this test
  // waits: its mean had to climb from 0.50.
  auto monitor = std::move(VideoQualityMonitor::Create({})).value();
  constexpr int kHover = 300;
  int raised_at = -1;
  for (int i = 0; i < kWarmup + 1 + kHover + kDetectSamples; ++i) {
    cv::Mat frame = Live(i);
    const int k = i - kWarmup;
    if (k >= 0) {
      const double sigma = k == 0 ? 2.5 : k <= kHover ? 1.5 : 5.0;
      cv::GaussianBlur(frame, frame, cv::Size(0, 0), sigma);
    }
    const QualityObservation o = monitor->Process(frame, int64_t(i) * kSampleUs);
    for (const QualityChange& c : o.changes) {
      if (c.check == QualityCheck::kBlur && c.to == QualityState::kFault && raised_at < 0) {
        raised_at = k;
      }
    }
  }
  EXPECT_GT(raised_at, kHover) << "raised during the hover";
  EXPECT_LE(raised_at, kHover + 15) << "the defocus began at sample " << kHover + 1;
}

TEST_F(VideoQualityTest, CameraKnockedSidewaysIsMoved) {
  ExpectDetected([](const cv::Mat& live, int) { return Shifted(live, 40, 10, 0); },
                 QualityCheck::kMoved);
}

TEST_F(VideoQualityTest, CameraRotatedAFewDegreesIsMoved) {
  ExpectDetected([](const cv::Mat& live, int) { return Shifted(live, 0, 0, 4.0); },
                 QualityCheck::kMoved);
}

TEST_F(VideoQualityTest, AKnockTowardsPlainSurfacesIsMovedNotOcclusion) {
  // Knocked 60 px sideways and 3 degrees: the view now shows a plain wall where its left edge
  // and corners had texture. Those cells lost their edges against the reference, which was
  // raised as occlusion beside moved; the cells of a view registered away from the reference are
  // not compared with it.
  ExpectDetected([](const cv::Mat& live, int) { return Shifted(live, 60, 0, 3.0, true); },
                 QualityCheck::kMoved);
}

TEST_F(VideoQualityTest, AKnockedViewThatStopsRegisteringIsStillNoCover) {
  // Knocked as above, then turned further so that the view no longer registers at all (here
  // mirrored, which ORB cannot match), with the plain wall still in view. Once moved is raised,
  // occlusion is held on those samples too: they were judged, and raised occlusion, while the
  // registered ones were held.
  ExpectDetected(
      [](const cv::Mat& live, int i) {
        cv::Mat out = Shifted(live, 60, 0, 3.0, true);
        if (i >= 15) cv::flip(out, out, 1);
        return out;
      },
      QualityCheck::kMoved);
}

TEST_F(VideoQualityTest, RepeatedIdenticalFrameIsFrozen) {
  ExpectDetected([](const cv::Mat&, int) { return Live(kWarmup).clone(); }, QualityCheck::kFrozen);
}

TEST_F(VideoQualityTest, TintIsColourCast) {
  ExpectDetected(
      [](const cv::Mat& live, int) {
        cv::Mat out;
        cv::multiply(live, cv::Scalar(0.6, 1.0, 1.5), out);
        return out;
      },
      QualityCheck::kColourCast);
}

TEST_F(VideoQualityTest, HeavyNoiseIsNoise) {
  ExpectDetected([](const cv::Mat& live, int i) { return WithNoise(live, 40, i); },
                 QualityCheck::kNoise);
}

TEST_F(VideoQualityTest, BlackPictureIsBlack) {
  ExpectDetected(
      [](const cv::Mat& live, int i) {
        return WithNoise(cv::Mat(live.size(), CV_8UC3, cv::Scalar::all(6)), 2, i);
      },
      QualityCheck::kBlack);
}

// A dead sensor's picture is the same black at every sample: black, and not also frozen.
TEST_F(VideoQualityTest, AVehiclePassingWhileTheViewIsLearnedIsNoCoverLater) {
  // A street: textured buildings above, plain road below. While the view is learned, a bus with
  // striped windows fills the lower left for two samples of five; afterwards the plain road there
  // is no lost texture (a cover): the reference is each cell's median over the warm-up samples.
  cv::Mat street(240, 320, CV_8UC3, cv::Scalar(90, 90, 90));
  for (int x = 0; x < 320; x += 8) {
    cv::rectangle(street, {x, 0, 4, 120}, cv::Scalar(220, 220, 220), cv::FILLED);
  }
  cv::Mat bus = street.clone();
  cv::rectangle(bus, {0, 120, 200, 120}, cv::Scalar(15, 15, 15), cv::FILLED);
  for (int y = 124; y < 240; y += 8) {
    cv::rectangle(bus, {0, y, 200, 4}, cv::Scalar(245, 245, 245), cv::FILLED);
  }
  auto monitor = std::move(VideoQualityMonitor::Create({})).value();
  for (int i = 0; i < 40; ++i) {
    const QualityObservation o =
        monitor->Process(WithNoise(i == 2 || i == 3 ? bus : street, 2, i), int64_t(i) * kSampleUs);
    EXPECT_NE(o[QualityCheck::kOcclusion].state, QualityState::kFault) << "sample " << i;
  }
}

TEST_F(VideoQualityTest, ConstantBlackPictureIsBlackNotFrozen) {
  ExpectDetected(
      [](const cv::Mat& live, int) { return cv::Mat(live.size(), CV_8UC3, cv::Scalar::all(4)); },
      QualityCheck::kBlack);
}

TEST_F(VideoQualityTest, WhitePictureIsOverexposed) {
  ExpectDetected(
      [](const cv::Mat& live, int) {
        cv::Mat out;
        live.convertTo(out, -1, 4.0, 60);
        return out;
      },
      QualityCheck::kOverexposed);
}

TEST_F(VideoQualityTest, FogIsLowContrast) {
  ExpectDetected(
      [](const cv::Mat& live, int) {
        cv::Mat out;
        live.convertTo(out, -1, 0.2, 0.8 * 200);
        return out;
      },
      QualityCheck::kLowContrast);
}

TEST_F(VideoQualityTest, HorizontalInterferenceIsStripes) {
  ExpectDetected(
      [](const cv::Mat& live, int i) {
        cv::Mat wave(live.rows, 1, CV_32F);
        for (int y = 0; y < live.rows; ++y) {
          wave.at<float>(y) = float(30.0 * std::sin(2 * CV_PI * (y + 3 * i) / 24.0));
        }
        cv::Mat out;
        live.convertTo(out, CV_32FC3);
        std::vector<cv::Mat> planes;
        cv::split(out, planes);
        for (cv::Mat& p : planes) p += cv::repeat(wave, 1, live.cols);
        cv::merge(planes, out);
        out.convertTo(out, CV_8UC3);
        return out;
      },
      QualityCheck::kStripes);
}

TEST_F(VideoQualityTest, MovingPeopleRaiseNothing) {
  ExpectNothingRaised([](const cv::Mat& live, int) { return live; }, 100);
}

TEST_F(VideoQualityTest, BrightnessStepsOfCloudsAndExposureRaiseNothing) {
  ExpectNothingRaised([](const cv::Mat& live, int i) {
    const double gain = (i / 15) % 3 == 0 ? 0.55 : (i / 15) % 3 == 1 ? 1.25 : 1.0;
    cv::Mat out;
    live.convertTo(out, -1, gain, (i / 15) % 3 == 1 ? 15 : 0);
    return out;
  });
}

TEST_F(VideoQualityTest, SwitchToInfraredGreyscaleRaisesNothing) {
  ExpectNothingRaised([](const cv::Mat& live, int i) {
    cv::Mat grey, out;
    cv::cvtColor(live, grey, cv::COLOR_BGR2GRAY);
    grey.convertTo(grey, -1, 1.15, 10);  // IR lit: brighter, other reflectances
    cv::cvtColor(grey, out, cv::COLOR_GRAY2BGR);
    return WithNoise(out, 3, i);
  });
}

TEST_F(VideoQualityTest, ShakeJitterRaisesNothing) {
  ExpectNothingRaised([](const cv::Mat& live, int i) {
    cv::RNG rng(i);
    return Shifted(live, rng.uniform(-4.0, 4.0), rng.uniform(-4.0, 4.0), rng.uniform(-0.4, 0.4));
  });
}

TEST_F(VideoQualityTest, ShortCoverIsNotRaised) {
  ExpectNothingRaised(
      [](const cv::Mat& live, int i) {
        cv::Mat out = live.clone();
        if (i % 10 < 3) {  // a passer-by's hand for three seconds, every ten
          cv::rectangle(out, cv::Rect(0, 0, live.cols / 2, live.rows / 2), cv::Scalar::all(40),
                        cv::FILLED);
        }
        return out;
      },
      60);
}

TEST_F(VideoQualityTest, BlurClearsAfterRefocusAndTheReferenceDidNotLearnIt) {
  auto monitor = std::move(VideoQualityMonitor::Create({})).value();
  bool raised = false, cleared = false;
  for (int i = 0; i < kWarmup + 60; ++i) {
    cv::Mat frame = Live(i);
    const bool defocused = i >= kWarmup && i < kWarmup + 30;
    if (defocused) cv::GaussianBlur(frame, frame, cv::Size(0, 0), 5.0);
    const QualityObservation o = monitor->Process(frame, int64_t(i) * kSampleUs);
    for (const QualityChange& c : o.changes) {
      if (c.check != QualityCheck::kBlur) continue;
      if (c.to == QualityState::kFault) raised = true;
      if (c.to == QualityState::kOk && raised) {
        cleared = true;
        EXPECT_GE(i, kWarmup + 30) << "cleared while still defocused";
      }
    }
  }
  EXPECT_TRUE(raised);
  EXPECT_TRUE(cleared);
}

TEST_F(VideoQualityTest, AcceptCurrentViewClearsMovedAndKeepsTheNewAim) {
  auto monitor = std::move(VideoQualityMonitor::Create({})).value();
  const Fault knocked = [](const cv::Mat& live, int) { return Shifted(live, 40, 10, 0); };
  const RunResult r = RunCamera(knocked, kDetectSamples, QualityCheck::kMoved, monitor.get());
  ASSERT_TRUE(r.raised.count(QualityCheck::kMoved)) << r.log;
  ASSERT_TRUE(monitor->AcceptCurrentView().ok());
  int64_t t = (kWarmup + kDetectSamples) * kSampleUs;
  QualityObservation o = monitor->Process(knocked(Live(100), 0), t);
  ASSERT_EQ(o.changes.size(), 1u);
  EXPECT_EQ(o.changes[0].check, QualityCheck::kMoved);
  EXPECT_EQ(o.changes[0].to, QualityState::kOk);
  for (int i = 1; i < 30; ++i) {
    o = monitor->Process(knocked(Live(100 + i), 0), t + i * kSampleUs);
    EXPECT_FALSE(o.Any(QualityState::kFault)) << "sample " << i;
  }
}

TEST_F(VideoQualityTest, ReferenceSurvivesARestartThroughItsFile) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("vq_ref_" + std::to_string(::getpid()) + ".yml.gz"))
                               .string();
  {
    auto first = std::move(VideoQualityMonitor::Create({})).value();
    EXPECT_FALSE(first->SaveReference(path).ok());  // nothing learned yet
    for (int i = 0; i < kWarmup; ++i) first->Process(Live(i), i * kSampleUs);
    ASSERT_TRUE(first->has_reference());
    const Status saved = first->SaveReference(path);
    ASSERT_TRUE(saved.ok()) << saved.ToString();
  }
  EXPECT_LT(std::filesystem::file_size(path), 120'000u);
  // After the restart the camera was knocked: the loaded reference shows it at once, where a
  // monitor learning from scratch would take the new aim as its reference.
  auto second = std::move(VideoQualityMonitor::Create({})).value();
  const Status loaded = second->LoadReference(path);
  ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  EXPECT_TRUE(second->has_reference());
  bool moved = false;
  for (int i = 0; i < kDetectSamples && !moved; ++i) {
    const QualityObservation o = second->Process(Shifted(Live(50 + i), 40, 10, 0), i * kSampleUs);
    moved = o[QualityCheck::kMoved].state == QualityState::kFault;
  }
  EXPECT_TRUE(moved);
  std::filesystem::remove(path);

  EXPECT_EQ(second->LoadReference(path).code(), StatusCode::kNotFound);
  VideoQualityOptions other;
  other.grid_cols = 6;
  auto third = std::move(VideoQualityMonitor::Create(other)).value();
  ASSERT_TRUE(second->SaveReference(path).ok());
  EXPECT_EQ(third->LoadReference(path).code(), StatusCode::kInvalidArgument);
  std::filesystem::remove(path);
}

// A reference file written before the cells' levels were kept (no `cell_mean`) still loads, its
// levels taken from its image, and a dark cover is seen against it.
TEST_F(VideoQualityTest, AReferenceFileWithoutCellLevelsStillSeesADarkCover) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("vq_old_ref_" + std::to_string(::getpid()) + ".yml.gz"))
                               .string();
  {
    auto first = std::move(VideoQualityMonitor::Create({})).value();
    for (int i = 0; i < kWarmup; ++i) first->Process(Live(i), i * kSampleUs);
    ASSERT_TRUE(first->SaveReference(path).ok());
  }
  {
    // Rewrite the file as the earlier version wrote it: every node but cell_mean.
    cv::FileStorage in(path, cv::FileStorage::READ);
    ASSERT_TRUE(in.isOpened());
    ASSERT_FALSE(in["cell_mean"].empty());
    cv::FileStorage out(path + ".old.yml.gz", cv::FileStorage::WRITE);
    for (const cv::FileNode& node : in.root()) {
      if (node.name() == "cell_mean") continue;
      if (node.isInt()) {
        out << node.name() << int(node);
      } else if (node.isReal()) {
        out << node.name() << double(node);
      } else if (node.isSeq()) {
        std::vector<double> v;
        node >> v;
        out << node.name() << v;
      } else {
        cv::Mat m;
        node >> m;
        out << node.name() << m;
      }
    }
  }
  std::filesystem::rename(path + ".old.yml.gz", path);
  auto second = std::move(VideoQualityMonitor::Create({})).value();
  const Status loaded = second->LoadReference(path);
  ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  bool covered = false;
  for (int i = 0; i < kDetectSamples && !covered; ++i) {
    const QualityObservation o = second->Process(DarkCover(Live(50 + i), i), i * kSampleUs);
    covered = o[QualityCheck::kOcclusion].state == QualityState::kFault;
  }
  EXPECT_TRUE(covered);
  std::filesystem::remove(path);
}

TEST_F(VideoQualityTest, ADefocusWhoseScoreDipsUnderTheThresholdIsStillBlur) {
  // A defocused night view: its blur score hovered at the threshold (0.50-0.64 around enter
  // 0.55) and dipped under it every few samples, so it never stayed >= enter for enter_ms and
  // was missed. Here two of three samples score about 0.63 and every third about 0.50 (vtest.avi
  // defocused with sigma 2 and 1.5): the dips stay above the middle of enter and leave, the mean
  // is above enter.
  ExpectDetected(Defocus([](int i) { return i % 3 == 2 ? 1.5 : 2.0; }), QualityCheck::kBlur);
}

TEST_F(VideoQualityTest, ABlurSpikeThenAViewJustUnderTheThresholdRaisesNothing) {
  // One sample well past enter (0.72) starts a pending change; the view then scores about 0.50,
  // between the middle of enter and leave and enter: the pending change survives, but the mean
  // of its samples stays under enter, so nothing is raised.
  ExpectNothingRaised(Defocus([](int i) { return i == 0 ? 2.5 : 1.5; }), 30);
}

TEST(VideoQualityOptionsTest, RejectsLeaveAboveEnter) {
  VideoQualityOptions o;
  o.blur.leave = 0.9;
  const Status s = ValidateVideoQualityOptions(o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "blur.leave: must be in [0, 0.55], got 0.9");
  EXPECT_TRUE(ValidateVideoQualityOptions({}).ok());
}

TEST(VideoQualityMonitorTest, RejectsEmptyAndUnsupportedFrames) {
  auto monitor = std::move(VideoQualityMonitor::Create({})).value();
  monitor->Process(cv::Mat(), 0);
  monitor->Process(cv::Mat(100, 100, CV_32FC1, cv::Scalar(0)), 1);
  EXPECT_EQ(monitor->stats().rejected_samples, 2u);
  EXPECT_EQ(monitor->Process(cv::Mat(90, 160, CV_8UC1, cv::Scalar(0)), 2).changes.size(),
            2u);  // black, overexposed
}

}  // namespace
}  // namespace skynet::analytics
