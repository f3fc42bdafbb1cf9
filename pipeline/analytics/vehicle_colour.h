// Vehicle colour: the dominant colour name of a vehicle from its pixels, by HSV voting.
//
// Pixels come from the vehicle's foreground mask when one is given (background and shadow
// excluded; windows that look like the road drop out too), else from the central body of the box
// (sides, roof line and the bottom quarter with tyres and shadow left out). Dark pixels (windows,
// tyres, shadow) vote "black" at reduced weight, and a clear share of saturated pixels wins over
// the achromatic votes, so a red car with black windows is red. Pure functions: thread-safe.
//
//   ColourVote v = DominantColour(frame, track.box, detector.foreground());
//   if (v.colour != VehicleColour::kUnknown) event.colour = VehicleColourName(v.colour);
#pragma once

#include <array>
#include <opencv2/core.hpp>

namespace skynet::analytics {

enum class VehicleColour { kUnknown = 0, kWhite, kBlack, kSilver, kRed, kBlue, kYellow, kGreen };
inline constexpr int kNumVehicleColours = 8;

// "white", "black", "silver" (silver/grey), "red", "blue", "yellow", "green"; "unknown".
const char* VehicleColourName(VehicleColour c);

struct ColourVote {
  VehicleColour colour = VehicleColour::kUnknown;
  float confidence = 0;  // the winner's share of the weighted votes, [0, 1]
  int pixels = 0;        // pixels that voted
  // Weighted votes per colour (index = VehicleColour), for accumulating over several frames.
  std::array<float, kNumVehicleColours> votes{};
};

// Dominant colour of the vehicle in `box` (pixels) of `frame` (CV_8UC3 BGR). `mask`: CV_8UC1 of
// the frame's size, non-zero on the vehicle, or empty. Unknown if the frame is not BGR or fewer
// than 20 pixels vote.
ColourVote DominantColour(const cv::Mat& frame, const cv::Rect2f& box, const cv::Mat& mask);

// Decides from accumulated votes (e.g. the sum of several frames' ColourVote::votes).
ColourVote DecideColour(const std::array<float, kNumVehicleColours>& votes);

}  // namespace skynet::analytics
