// PictureFault: a camera picture fault that SceneRenderer renders over a scene from a given time
// on, for the video quality evaluation (issue 15 item 7, tools/eval/run-quality-eval.sh). The
// fault's seed varies its shape, position and strength; its truth (kind, start, parameters) goes
// into skynet-scenegen's truth file as "fault".
//
// Each fault acts where it happens in a real camera: on the lens or the aim (cover, paint,
// defocus, knock) before the sensor noise, in the sensor or ISP (cast, noise, black) before the
// OSD, which the camera keeps drawing; a frozen picture repeats the whole frame of the start,
// OSD included (a hung encoder). Like the scene, frame i is a pure function of (options, i).
//
//   PictureFault f({.kind = PictureFaultKind::kCover, .start_s = 14, .seed = 3}, {640, 360});
//   f.ApplyOptical(t, img);  // SceneRenderer::Render() calls the stages itself
//
// Thread-compatible: every const member may run concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <opencv2/core.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/core/status.h"

namespace skynet::scenegen {

enum class PictureFaultKind {
  kNone,
  kCover,    // a hand or a bag in front of the lens: a dark, blurred blob over 30-70% of the view
  kPaint,    // spray paint on the lens or dome: semi-opaque coloured blotches, sprayed over 2 s
  kDefocus,  // progressive defocus: blur growing over 4-12 s to 0.8-1.6% of the width
  kKnock,    // the camera knocked: view rotated 1.5-4 degrees and shifted 2-5%, and stays so
  kFreeze,   // the picture of the start repeated (frozen encoder)
  kCast,     // a colour cast (stuck IR-cut filter, cable fault): strong per-channel gains
  kNoise,    // heavy sensor noise (sigma 18-35 levels), half the seeds with snow
  kBlack,    // a near-black picture (dead sensor, lens cap); the OSD stays
};

// "none", "cover", "paint", "defocus", "knock", "freeze", "cast", "noise", "black".
const char* PictureFaultName(PictureFaultKind kind);
// Parses the names above; InvalidArgument listing them otherwise.
Result<PictureFaultKind> ParsePictureFault(std::string_view name);
// Every fault but kNone, in the order above.
const std::vector<PictureFaultKind>& AllPictureFaults();

struct PictureFaultOptions {
  PictureFaultKind kind = PictureFaultKind::kNone;
  // Clip time (seconds from frame 0, not wrapped into a scene's period) at which it begins.
  double start_s = 0;
  // Varies shape, position and strength; same seed, same fault.
  uint32_t seed = 1;
};

class PictureFault {
 public:
  PictureFault(const PictureFaultOptions& options, cv::Size frame, double fps);

  const PictureFaultOptions& options() const { return options_; }
  bool active(int64_t frame_index) const;
  // The frame a frozen picture shows instead of `frame_index` (itself for other faults).
  int64_t SourceFrame(int64_t frame_index) const;
  // Lens and aim: cover, paint, defocus, knock. Before sensor noise.
  void ApplyOptical(int64_t frame_index, cv::Mat& img) const;
  // Sensor and ISP: cast, noise, black. After sensor noise, before the OSD.
  void ApplySensor(int64_t frame_index, cv::Mat& img) const;
  // What the seed chose (share of the view, degrees, sigma, gains ...), for the truth.
  const std::map<std::string, double>& parameters() const { return parameters_; }

 private:
  void BuildCover();
  void BuildPaint();
  double Onset(int64_t frame_index, double ramp_s) const;  // 0 before, 0..1 during, 1 after

  PictureFaultOptions options_;
  cv::Size size_;
  double fps_;
  int64_t start_frame_ = 0;
  std::map<std::string, double> parameters_;
  // Cover and paint: per-pixel opacity (CV_32F 0..1) and colour (CV_32FC3) of what is on the lens.
  cv::Mat alpha_, colour_;
  std::vector<cv::Mat> paint_alpha_;  // paint: one opacity map per blotch, sprayed in order
  double defocus_sigma_ = 0, ramp_s_ = 0;
  cv::Matx23d knock_;
  cv::Vec3d gains_{1, 1, 1};
  double noise_sigma_ = 0, snow_ = 0;
  double black_gain_ = 0, black_offset_ = 0, black_noise_ = 0;
};

}  // namespace skynet::scenegen
