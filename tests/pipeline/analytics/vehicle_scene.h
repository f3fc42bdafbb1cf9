// Synthetic BGR traffic scenes for the vehicle tests: a textured road with lane markings, sensor
// noise that is the same for the same frame index, and simple cars (body, windows, tyres).
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace skynet::analytics::testing {

constexpr int kWidth = 320;
constexpr int kHeight = 180;
constexpr int64_t kFrameUs = 100'000;  // 10 fps

class RoadScene {
 public:
  explicit RoadScene(uint64_t seed = 42) {
    cv::RNG rng(seed);
    road_.create(kHeight, kWidth, CV_8UC3);
    road_.setTo(cv::Scalar(105, 108, 110));  // asphalt, slightly warm
    for (int i = 0; i < 120; ++i) {          // patches, repairs, stains
      const cv::Point p(rng.uniform(0, kWidth), rng.uniform(0, kHeight));
      const cv::Size s(rng.uniform(3, 30), rng.uniform(2, 12));
      const int g = rng.uniform(70, 150);
      cv::rectangle(road_, cv::Rect(p, s), cv::Scalar(g, g + rng.uniform(-6, 7), g + 4),
                    cv::FILLED);
    }
    cv::Mat fine(road_.size(), CV_8UC3);
    rng.fill(fine, cv::RNG::UNIFORM, 0, 14);
    road_ += fine;
    for (int x = 0; x < kWidth; x += 40) {  // dashed lane markings
      for (int y : {60, 120}) {
        cv::rectangle(road_, cv::Rect(x, y, 20, 2), cv::Scalar(225, 225, 225), cv::FILLED);
      }
    }
  }

  const cv::Mat& road() const { return road_; }

  // Adds sensor noise (seeded by `index`) to `frame` in place.
  static void AddNoise(cv::Mat& frame, int index) {
    cv::Mat noise(frame.size(), CV_16SC3);
    cv::RNG rng(1000 + index);
    rng.fill(noise, cv::RNG::NORMAL, 0, 2);
    cv::Mat wide;
    frame.convertTo(wide, CV_16SC3);
    wide += noise;
    wide.convertTo(frame, CV_8UC3);
  }

  cv::Mat Frame(int index) const {
    cv::Mat f = road_.clone();
    AddNoise(f, index);
    return f;
  }

 private:
  cv::Mat road_;
};

// Draws a car seen from the side/above: `body` filled with `colour`, dark windows in its upper
// middle, black tyres at the bottom corners.
inline void DrawCar(cv::Mat& frame, const cv::Rect& body, const cv::Scalar& colour) {
  cv::rectangle(frame, body, colour, cv::FILLED);
  const cv::Rect window(body.x + body.width / 4, body.y + body.height / 6, body.width / 2,
                        body.height / 3);
  cv::rectangle(frame, window, cv::Scalar(35, 30, 30), cv::FILLED);
  const int tw = std::max(2, body.width / 6), th = std::max(2, body.height / 5);
  cv::rectangle(frame, cv::Rect(body.x + 2, body.br().y - th, tw, th), cv::Scalar(15, 15, 15),
                cv::FILLED);
  cv::rectangle(frame, cv::Rect(body.br().x - 2 - tw, body.br().y - th, tw, th),
                cv::Scalar(15, 15, 15), cv::FILLED);
}

}  // namespace skynet::analytics::testing
